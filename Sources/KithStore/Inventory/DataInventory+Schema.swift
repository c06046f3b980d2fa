import KithCore
import SQLKit

/// A column of the migrated schema: `table.column`.
public struct SchemaColumn: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var table: String
    public var column: String

    public init(_ table: String, _ column: String) {
        self.table = table
        self.column = column
    }

    public var description: String { "\(table).\(column)" }

    public static func < (lhs: SchemaColumn, rhs: SchemaColumn) -> Bool {
        (lhs.table, lhs.column) < (rhs.table, rhs.column)
    }
}

/// Where the inventory and the migrated schema disagree (CON-00, SEC-07): empty when every column is
/// classified and every declared column exists.
public struct InventoryDiscrepancies: Sendable, Equatable, CustomStringConvertible {
    /// Columns of the schema the inventory does not classify.
    public var unclassified: [SchemaColumn]
    /// Columns the inventory declares that the schema does not have.
    public var undeclaredInSchema: [SchemaColumn]

    public var isEmpty: Bool { unclassified.isEmpty && undeclaredInSchema.isEmpty }

    public var description: String {
        if isEmpty { return "every column of the schema is classified in the data inventory" }
        var lines: [String] = []
        if !unclassified.isEmpty {
            lines.append(
                "not classified in the data inventory: " + unclassified.map(\.description).joined(separator: ", ")
            )
        }
        if !undeclaredInSchema.isEmpty {
            lines.append(
                "in the data inventory but not in the schema: "
                    + undeclaredInSchema.map(\.description).joined(separator: ", ")
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension DataInventory {
    /// Every column the inventory declares.
    public var declaredColumns: Set<SchemaColumn> {
        Set(tables.flatMap { table in table.columns.map { SchemaColumn(table.name, $0.name) } })
    }

    /// Compares the inventory with the columns a migrated store actually has.
    public func discrepancies(with schema: Set<SchemaColumn>) -> InventoryDiscrepancies {
        let declared = declaredColumns
        return InventoryDiscrepancies(
            unclassified: schema.subtracting(declared).sorted(),
            undeclaredInSchema: declared.subtracting(schema).sorted()
        )
    }

    /// Compares the inventory with the schema of `database` (CON-00, SEC-07).
    public func discrepancies(in database: KithDatabase) async throws -> InventoryDiscrepancies {
        discrepancies(with: try await database.schemaColumns())
    }
}

extension KithDatabase {
    /// Every column of every table of the store's schema: SQLite's `sqlite_master` and
    /// `pragma_table_info`, PostgreSQL's `information_schema.columns` for the current schema.
    public func schemaColumns() async throws -> Set<SchemaColumn> { Set(try await schemaColumnTypes().keys) }

    /// The columns of the schema that hold numbers, each with whether they are integers (by declared type),
    /// so that an export writes numbers as numbers and text as text, whatever the driver converts.
    public func numericColumns() async throws -> [SchemaColumn: Bool] {
        try await schemaColumnTypes().compactMapValues { type in
            if type.contains("INT") { return true }
            return ["REAL", "DOUBLE", "FLOAT", "NUMERIC"].contains(where: type.contains) ? false : nil
        }
    }

    /// Every column of the schema with its declared type, upper-cased.
    func schemaColumnTypes() async throws -> [SchemaColumn: String] {
        let query: SQLQueryString
        switch backend {
        case .sqlite:
            query = """
                SELECT m.name AS table_name, p.name AS column_name, p.type AS column_type
                FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                """
        case .postgres:
            query = """
                SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS column_type
                FROM information_schema.columns WHERE table_schema = current_schema()
                """
        }
        let rows = try await read { sql in try await sql.raw(query).all() }
        var types: [SchemaColumn: String] = [:]
        for row in rows {
            let column = SchemaColumn(
                try row.decode(column: "table_name", as: String.self),
                try row.decode(column: "column_name", as: String.self)
            )
            types[column] = try row.decode(column: "column_type", as: String.self).uppercased()
        }
        return types
    }
}

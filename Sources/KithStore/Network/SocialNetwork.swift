import Foundation
import KithCore
import KithGraph
import SQLKit
import Synchronization

/// A profile as one viewer may see it (`getProfile`).
public struct ProfileView: Codable, Sendable {
    public var userId: UserID
    /// How the viewer stands to this person: `self`, `connection` or `other`.
    public var relationship: Relationship
    /// Only the fields the viewer may see.
    public var fields: [ProfileField: String]
    /// The owner's own view: each field's audience (absent for others).
    public var visibility: [ProfileField: Audience]?
    public var hidesConnections: Bool?
    /// The owner's own view: every endorsement, hidden ones too.
    public var endorsements: [Endorsement]?
    /// Everyone else's view: the visible tags, counted.
    public var endorsementCounts: [EndorsementCount]?
}

/// A connection request between two registered people.
public struct ConnectionRequest: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case pending
        case accepted
        case declined
        case withdrawn
        /// Ended by a block.
        case cancelled
    }

    public var requestId: String
    public var from: UserID
    public var to: UserID
    public var status: Status
    public var createdAt: Int64
}

/// What a viewer may see of another person in a list: the visibility filter's output, nothing else.
public struct PersonSummary: Codable, Sendable, Equatable {
    public var userId: UserID
    public var displayName: String?
    public var headline: String?
}

/// An endorsement as its subject sees it.
public struct Endorsement: Codable, Sendable, Equatable {
    public var endorsementId: String
    public var endorser: PersonSummary
    public var tag: String
    public var label: String
    public var hidden: Bool
    public var createdAt: Int64
}

/// A tag on a profile as others see it: counted, not attributed.
public struct EndorsementCount: Codable, Sendable, Equatable {
    public var tag: String
    public var label: String
    public var count: Int
}

/// Profiles, connections (一度人脉), blocks and endorsements, with the graph replica kept in step.
///
/// Every write runs through the ``ProcessingGate`` under the `social-network` purpose (contract basis) so
/// the processing log records it, and every change to a connection or to a person's suggestion switches
/// adds a `graph_changes` row in the same transaction for the other nodes' replicas.
public struct SocialNetwork: Sendable {
    public let store: KithStore
    public let replica: GraphReplica
    /// How many connection requests one person may send (MSG-01: no mass invitations by request).
    public var requestLimit: RateLimit

    public init(store: KithStore, replica: GraphReplica, requestLimit: RateLimit = .perDay(100, burst: 100)) {
        self.store = store
        self.replica = replica
        self.requestLimit = requestLimit
    }

    // MARK: Reading

    /// A person's profile as `viewer` may see it: only the admitted fields; the owner's own view adds
    /// each field's audience and every endorsement, everyone else's the visible endorsement tags counted.
    ///
    /// - Throws: `not-found` for an unknown person or someone either side blocked (not disclosed).
    public func profile(of owner: UserID, for viewer: UserID, locale: NoticeLocale) async throws -> ProfileView {
        try await store.database.read { sql in
            guard let (relationship, profile) = try await Self.standing(of: viewer, to: owner, on: sql) else {
                throw KithError.noSuchPerson
            }
            // What the viewer may see is the access policy's to decide, nobody else's.
            let admitted = AccessPolicy.admitted(to: .person(relationship), of: SubjectSettings(profile))
            guard admitted.exists else { throw KithError.noSuchPerson }
            return ProfileView(
                userId: owner,
                relationship: relationship,
                fields: profile.visible(through: admitted),
                visibility: admitted.settings
                    ? Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, profile.audience(of: $0)) })
                    : nil,
                hidesConnections: admitted.settings ? profile.hidesConnections : nil,
                endorsements: admitted.endorsements == .full
                    ? try await Self.endorsements(of: owner, locale: locale, on: sql) : nil,
                endorsementCounts: admitted.endorsements == .counts
                    ? try await Self.endorsementCounts(of: owner, locale: locale, on: sql) : nil
            )
        }
    }

    /// Whether an account exists.
    static func exists(_ user: UserID, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("SELECT id FROM users WHERE id = \(bind: user.rawValue)").first() != nil
    }

    /// The people `user` blocked or was blocked by.
    static func blockedEitherWay(_ user: UserID, on sql: any SQLDatabase) async throws -> Set<UserID> {
        let rows = try await sql.raw(
            """
            SELECT blocked_id AS other FROM blocks WHERE user_id = \(bind: user.rawValue)
            UNION SELECT user_id AS other FROM blocks WHERE blocked_id = \(bind: user.rawValue)
            """
        ).all()
        return Set(try rows.map { UserID(rawValue: try $0.decode(column: "other", as: String.self)) })
    }

    static func areConnected(_ a: UserID, _ b: UserID, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw(
            "SELECT 1 AS one FROM connections WHERE user_id = \(bind: a.rawValue) AND peer_id = \(bind: b.rawValue)"
        ).first() != nil
    }

    /// How `viewer` stands to `owner`, and `owner`'s stored profile, in one statement; `nil` when `owner`
    /// has no account.
    static func standing(
        of viewer: UserID,
        to owner: UserID,
        on sql: any SQLDatabase
    ) async throws -> (relationship: Relationship, profile: Profile)? {
        let row = try await sql.raw(
            """
            SELECT CASE WHEN EXISTS(
                SELECT 1 FROM blocks WHERE (user_id = \(bind: viewer.rawValue) AND blocked_id = \(bind: owner.rawValue))
                OR (user_id = \(bind: owner.rawValue) AND blocked_id = \(bind: viewer.rawValue))
            ) THEN 1 ELSE 0 END AS blocked,
            CASE WHEN EXISTS(
                SELECT 1 FROM connections WHERE user_id = \(bind: viewer.rawValue) AND peer_id = \(bind: owner.rawValue)
            ) THEN 1 ELSE 0 END AS connected,
            p.*
            FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = \(bind: owner.rawValue)
            """
        ).first()
        guard let row else { return nil }
        let blocked = try row.decode(column: "blocked", as: Int.self) != 0
        let connected = try row.decode(column: "connected", as: Int.self) != 0
        let relationship: Relationship =
            viewer == owner ? .selfView : blocked ? .blocked : connected ? .connection : .other
        return (relationship, try row.decodeNil(column: "user_id") ? Profile() : try profile(from: row))
    }

    /// The stored profiles of `users` (people who never wrote one get the empty default).
    static func profiles(
        of users: some Collection<UserID>,
        on sql: any SQLDatabase
    ) async throws -> [UserID: Profile] {
        let ids = Array(Set(users.map(\.rawValue)))
        var profiles: [UserID: Profile] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let rows = try await sql.select().column("*").from("profiles")
                .where("user_id", .in, Array(ids[chunk..<min(chunk + 500, ids.count)])).all()
            for row in rows {
                profiles[UserID(rawValue: try row.decode(column: "user_id", as: String.self))] = try profile(from: row)
            }
        }
        return profiles
    }

    /// The profile in a row of the `profiles` table.
    static func profile(from row: any SQLRow) throws -> Profile {
        var values: [ProfileField: String] = [:]
        for field in ProfileField.allCases {
            values[field] = try row.decode(column: field.column, as: String.self)
        }
        return Profile(
            values: values,
            audiences: try AudienceDecoding.decode(try row.decode(column: "audiences", as: String.self)),
            hidesConnections: try row.decode(column: "hide_connections", as: Int.self) == 1
        )
    }

    static func profile(of user: UserID, on sql: any SQLDatabase) async throws -> Profile {
        try await profiles(of: [user], on: sql)[user] ?? Profile()
    }

    /// Summaries of `users` as `viewer` may see them; `relationships` defaults to `.other`.
    static func summaries(
        of users: [UserID],
        relationships: [UserID: Relationship] = [:],
        on sql: any SQLDatabase
    ) async throws -> [UserID: PersonSummary] {
        let profiles = try await Self.profiles(of: users, on: sql)
        var summaries: [UserID: PersonSummary] = [:]
        for user in users {
            let profile = profiles[user] ?? Profile()
            let relationship = relationships[user] ?? .other
            summaries[user] = PersonSummary(
                userId: user,
                displayName: profile.value(.displayName, for: relationship),
                headline: profile.value(.headline, for: relationship)
            )
        }
        return summaries
    }

    /// Which of `users` have not opted out of being suggested to others (DSR-09).
    static func suggestable(
        _ users: some Collection<UserID>,
        on sql: any SQLDatabase
    ) async throws -> Set<UserID> {
        var optedOut: Set<UserID> = []
        let ids = users.map(\.rawValue)
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            for row in try await sql.select().column("user_id").from("profiles").where("suggestable", .equal, 0)
                .where("user_id", .in, Array(ids[chunk..<min(chunk + 500, ids.count)])).all()
            {
                optedOut.insert(UserID(rawValue: try row.decode(column: "user_id", as: String.self)))
            }
        }
        return Set(users).subtracting(optedOut)
    }

    /// Whether a person has not opted out of being suggested to others (DSR-09).
    static func suggestable(_ user: UserID, on sql: any SQLDatabase) async throws -> Bool {
        try await suggestable([user], on: sql).contains(user)
    }

    // MARK: Writing

    /// Runs a social-network write through the gate: checked, logged, in one transaction.
    ///
    /// - Parameter related: the other person the act is about (whom one asks, answers, blocks, endorses),
    ///   known before the work or found by it; the act is logged about them too, so their own entries
    ///   show what was done about them.
    /// - Parameter withheld: why the entry about `related` is not shown to them (a block: telling would
    ///   defeat it); it stays in the log for accountability, and the person's export leaves it out.
    func write<T: Sendable>(
        _ actor: UserID,
        _ detail: String,
        _ initiation: Initiation,
        about related: UserID? = nil,
        withheld: String? = nil,
        _ work: @escaping @Sendable (any SQLDatabase, Int64) async throws -> T
    ) async throws -> T {
        try await writeAbout(actor, detail, initiation, withheld: withheld) { sql, now in
            (try await work(sql, now), related)
        }
    }

    /// The evidence key that marks an entry about another person as not to be shown to them.
    public static let withheldFromSubject = "withheldFromSubject"

    /// ``write(_:_:_:about:_:)`` for acts whose other person only the work finds out: it returns them.
    func writeAbout<T: Sendable>(
        _ actor: UserID,
        _ detail: String,
        _ initiation: Initiation,
        withheld: String? = nil,
        _ work: @escaping @Sendable (any SQLDatabase, Int64) async throws -> (T, about: UserID?)
    ) async throws -> T {
        let now = store.clock.nowMillis
        let act = ProcessingAct.own(.socialNetwork, by: actor, initiation: initiation, detail: detail)
        return try await store.gate.perform(act) { sql in
            let (result, other) = try await work(sql, now)
            let about = other.flatMap { $0 == actor ? nil : $0 }
            let related = about.map { person -> LoggedAct in
                var entry = act.about(person, detail: detail)
                if let withheld { entry.evidence = [Self.withheldFromSubject: withheld] }
                return LoggedAct(entry)
            }
            return (result, detail: nil, related: related.map { [$0] } ?? [])
        }.0
    }

    /// Saves profile fields and audiences; an empty string clears a field.
    public func updateProfile(
        of user: UserID,
        values: [ProfileField: String],
        audiences: [ProfileField: Audience],
        hidesConnections: Bool?,
        initiation: Initiation
    ) async throws -> Profile {
        let (profile, suggestable) = try await write(user, "profile updated", initiation) { sql, now in
            var profile = try await Self.profile(of: user, on: sql)
            let before = profile
            profile.values.merge(values) { $1 }
            profile.audiences.merge(audiences) { $1 }
            if let hidesConnections { profile.hidesConnections = hidesConnections }
            try await Self.save(profile, of: user, at: now, on: sql)
            if before.hidesConnections != profile.hidesConnections {
                try await GraphReplica.recordChange(user, nil, at: now, on: sql)
            }
            return (profile, try await Self.suggestable(user, on: sql))
        }
        replica.apply(user, hidesConnections: profile.hidesConnections, suggestable: suggestable)
        return profile
    }

    static func save(_ profile: Profile, of user: UserID, at now: Int64, on sql: any SQLDatabase) async throws {
        let audiences = String(decoding: try JSONEncoder().encode(profile.audiences), as: UTF8.self)
        let employer = profile.values[.employer] ?? ""
        let school = profile.values[.school] ?? ""
        let employerPublic = !employer.isEmpty && profile.audience(of: .employer) == .everyone
        let schoolPublic = !school.isEmpty && profile.audience(of: .school) == .everyone
        try await sql.raw(
            """
            INSERT INTO profiles (user_id, display_name, headline, employer, school, city, avatar_url, audiences,
                employer_key, employer_public, school_key, school_public, hide_connections, updated_at)
            VALUES (\(bind: user.rawValue), \(bind: profile.values[.displayName] ?? ""), \(bind: profile.values[.headline] ?? ""),
                \(bind: employer), \(bind: school), \(bind: profile.values[.city] ?? ""), \(bind: profile.values[.avatarURL] ?? ""),
                \(bind: audiences), \(bind: Profile.matchKey(employer)), \(bind: employerPublic ? 1 : 0),
                \(bind: Profile.matchKey(school)), \(bind: schoolPublic ? 1 : 0), \(bind: profile.hidesConnections ? 1 : 0), \(bind: now))
            ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, headline = excluded.headline,
                employer = excluded.employer, school = excluded.school, city = excluded.city,
                avatar_url = excluded.avatar_url, audiences = excluded.audiences, employer_key = excluded.employer_key,
                employer_public = excluded.employer_public, school_key = excluded.school_key,
                school_public = excluded.school_public, hide_connections = excluded.hide_connections,
                updated_at = excluded.updated_at
            """
        ).run()
    }

    /// Opts a person in to or out of being suggested to others (DSR-09); takes effect on the next request.
    public func setSuggestable(_ user: UserID, _ suggestable: Bool, initiation: Initiation) async throws {
        let hides = try await store.database.transaction { sql in
            try await setSuggestable(user, suggestable, initiation: initiation, on: sql)
        }
        replica.apply(user, hidesConnections: hides, suggestable: suggestable)
    }

    /// ``setSuggestable(_:_:initiation:)`` in the caller's transaction, logged there; the caller applies
    /// the change to the replica after the commit.
    ///
    /// - Returns: whether the person hides their connection list (the replica keeps both switches).
    func setSuggestable(
        _ user: UserID,
        _ suggestable: Bool,
        initiation: Initiation,
        on sql: any SQLDatabase
    ) async throws -> Bool {
        let now = store.clock.nowMillis
        let act = ProcessingAct.own(
            .socialNetwork,
            by: user,
            initiation: initiation,
            detail: suggestable ? "suggestable" : "not suggestable"
        )
        try await ProcessingGate.record([act], store: store, on: sql)
        let profile = try await Self.profile(of: user, on: sql)
        try await Self.save(profile, of: user, at: now, on: sql)
        try await sql.raw(
            "UPDATE profiles SET suggestable = \(bind: suggestable ? 1 : 0) WHERE user_id = \(bind: user.rawValue)"
        ).run()
        try await GraphReplica.recordChange(user, nil, at: now, on: sql)
        return profile.hidesConnections
    }

    /// Asks `target` to connect. If `target` already asked `requester`, they are connected at once.
    ///
    /// - Returns: the request, `accepted` when this completed a pair of requests; and whether it is new.
    /// - Throws: `not-found` for an unknown person, oneself, or someone either side blocked (a block is
    ///   not disclosed); `conflict` when already connected.
    public func requestConnection(
        from requester: UserID,
        to target: UserID,
        initiation: Initiation
    ) async throws -> (ConnectionRequest, created: Bool) {
        let store = self.store
        let limit = requestLimit
        let made: (ConnectionRequest, created: Bool)
        do {
            made = try await write(requester, "connection requested", initiation, about: target) {
                sql,
                now in
                _ = try await RateLimiter.take(
                    "connection-requests:" + requester.rawValue,
                    limit: limit,
                    store: store,
                    on: sql
                )
                guard requester != target,
                    let relationship = try await Self.standing(of: requester, to: target, on: sql)?.relationship,
                    relationship != .blocked
                else { throw KithError.noSuchPerson }
                if relationship == .connection {
                    throw KithError(.conflict, field: "userId", detail: "You are already connected.")
                }
                if let existing = try await Self.pendingRequest(from: requester, to: target, on: sql) {
                    return (existing, false)
                }
                if var reverse = try await Self.pendingRequest(from: target, to: requester, on: sql) {
                    try await Self.accept(reverse, at: now, on: sql)
                    reverse.status = .accepted
                    return (reverse, true)
                }
                let request = ConnectionRequest(
                    requestId: UUID().uuidString.lowercased(),
                    from: requester,
                    to: target,
                    status: .pending,
                    createdAt: now
                )
                try await sql.raw(
                    """
                    INSERT INTO connection_requests (id, from_id, to_id, status, created_at)
                    VALUES (\(bind: request.requestId), \(bind: requester.rawValue), \(bind: target.rawValue), 'pending', \(bind: now))
                    """
                ).run()
                return (request, true)
            }
        } catch let error as KithError where error.code == .rateLimited {
            await RateLimiter.logRefusal("connection-requests:", about: requester, initiation: initiation, store: store)
            throw error
        }
        let (request, created) = made
        if request.status == .accepted { replica.apply(request.from, request.to, connected: true) }
        return (request, created)
    }

    static func pendingRequest(from: UserID, to: UserID, on sql: any SQLDatabase) async throws -> ConnectionRequest? {
        try await sql.raw(
            "SELECT * FROM connection_requests WHERE from_id = \(bind: from.rawValue) AND to_id = \(bind: to.rawValue) AND status = 'pending'"
        ).first().map(Self.request(from:))
    }

    static func request(from row: any SQLRow) throws -> ConnectionRequest {
        ConnectionRequest(
            requestId: try row.decode(column: "id", as: String.self),
            from: UserID(rawValue: try row.decode(column: "from_id", as: String.self)),
            to: UserID(rawValue: try row.decode(column: "to_id", as: String.self)),
            status: ConnectionRequest.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            createdAt: try row.decode(column: "created_at", as: Int64.self)
        )
    }

    static func accept(_ request: ConnectionRequest, at now: Int64, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            "UPDATE connection_requests SET status = 'accepted', responded_at = \(bind: now) WHERE id = \(bind: request.requestId)"
        ).run()
        for (a, b) in [(request.from, request.to), (request.to, request.from)] {
            try await sql.raw(
                "INSERT INTO connections (user_id, peer_id, created_at) VALUES (\(bind: a.rawValue), \(bind: b.rawValue), \(bind: now)) ON CONFLICT DO NOTHING"
            ).run()
        }
        try await GraphReplica.recordChange(request.from, request.to, at: now, on: sql)
    }

    /// What the person a request concerns may do with it.
    public enum Response: String, Codable, Sendable {
        /// The recipient agrees: both are connected.
        case accept
        /// The recipient says no; the sender is not told more than "not pending".
        case decline
        /// The sender takes the request back.
        case withdraw
    }

    /// Accepts, declines or withdraws a pending request.
    ///
    /// - Throws: `not-found` when the request is not the caller's to answer (accept/decline: its
    ///   recipient; withdraw: its sender); `conflict` when it is no longer pending.
    public func respond(
        to requestId: String,
        by user: UserID,
        with response: Response,
        initiation: Initiation
    ) async throws -> ConnectionRequest {
        // A sender is told no more than "not pending": the entry of a decline about them is not theirs to see.
        let withheld = response == .accept ? nil : "the sender is told no more than that the request is not pending"
        let request = try await writeAbout(
            user,
            "connection request answered: \(response.rawValue)",
            initiation,
            withheld: withheld
        ) {
            sql,
            now in
            guard
                var request = try await sql.raw("SELECT * FROM connection_requests WHERE id = \(bind: requestId)")
                    .first().map(Self.request(from:)),
                response == .withdraw ? request.from == user : request.to == user
            else {
                throw KithError(.notFound, field: "requestId", detail: "You have no such connection request.")
            }
            guard request.status == .pending else {
                throw KithError(.conflict, field: "requestId", detail: "This request is no longer pending.")
            }
            switch response {
            case .accept:
                try await Self.accept(request, at: now, on: sql)
                request.status = .accepted
            case .decline, .withdraw:
                request.status = response == .decline ? .declined : .withdrawn
                try await sql.raw(
                    "UPDATE connection_requests SET status = \(bind: request.status.rawValue), responded_at = \(bind: now) WHERE id = \(bind: requestId)"
                ).run()
            }
            return (request, about: request.from == user ? request.to : request.from)
        }
        if request.status == .accepted { replica.apply(request.from, request.to, connected: true) }
        return request
    }

    /// The pending requests a person sent and received, newest first.
    public func pendingRequests(
        of user: UserID
    ) async throws -> (incoming: [ConnectionRequest], outgoing: [ConnectionRequest]) {
        try await store.database.read { sql in
            let rows = try await sql.raw(
                """
                SELECT * FROM connection_requests WHERE status = 'pending'
                AND (to_id = \(bind: user.rawValue) OR from_id = \(bind: user.rawValue)) ORDER BY created_at DESC, id
                """
            ).all().map(Self.request(from:))
            return (rows.filter { $0.to == user }, rows.filter { $0.from == user })
        }
    }

    /// Ends a connection. - Throws: `not-found` when the two are not connected.
    public func removeConnection(_ user: UserID, _ peer: UserID, initiation: Initiation) async throws {
        try await write(user, "connection removed", initiation, about: peer) { sql, now in
            guard try await Self.areConnected(user, peer, on: sql) else {
                throw KithError(.notFound, field: "userId", detail: "You are not connected to this person.")
            }
            try await Self.disconnect(user, peer, at: now, on: sql)
        }
        replica.apply(user, peer, connected: false)
    }

    static func disconnect(_ a: UserID, _ b: UserID, at now: Int64, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            DELETE FROM connections WHERE (user_id = \(bind: a.rawValue) AND peer_id = \(bind: b.rawValue))
            OR (user_id = \(bind: b.rawValue) AND peer_id = \(bind: a.rawValue))
            """
        ).run()
        try await GraphReplica.recordChange(a, b, at: now, on: sql)
    }

    /// Blocks a person: ends the connection, cancels requests both ways, deletes endorsements between the
    /// two, and from then on hides each from the other everywhere — profiles, lists, the second degree,
    /// suggestions (issue 4 §2). Blocking again changes nothing.
    /// Why a blocked person is not shown the entries of being blocked or unblocked (DSR-01, PYM-04).
    static let blockWithheld = "telling a person who blocked them would defeat the block"

    public func block(_ user: UserID, _ target: UserID, initiation: Initiation) async throws {
        try await write(user, "person blocked", initiation, about: target, withheld: Self.blockWithheld) { sql, now in
            guard user != target, try await Self.exists(target, on: sql) else { throw KithError.noSuchPerson }
            try await sql.raw(
                "INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (\(bind: user.rawValue), \(bind: target.rawValue), \(bind: now)) ON CONFLICT DO NOTHING"
            ).run()
            try await Self.disconnect(user, target, at: now, on: sql)
            try await sql.raw(
                """
                UPDATE connection_requests SET status = 'cancelled', responded_at = \(bind: now) WHERE status = 'pending'
                AND ((from_id = \(bind: user.rawValue) AND to_id = \(bind: target.rawValue))
                OR (from_id = \(bind: target.rawValue) AND to_id = \(bind: user.rawValue)))
                """
            ).run()
            try await sql.raw(
                """
                DELETE FROM endorsements WHERE (endorser_id = \(bind: user.rawValue) AND endorsee_id = \(bind: target.rawValue))
                OR (endorser_id = \(bind: target.rawValue) AND endorsee_id = \(bind: user.rawValue))
                """
            ).run()
        }
        replica.apply(user, target, connected: false)
    }

    /// Lifts a block; the two are not reconnected. - Throws: `not-found` when there was no block.
    public func unblock(_ user: UserID, _ target: UserID, initiation: Initiation) async throws {
        try await write(user, "block lifted", initiation, about: target, withheld: Self.blockWithheld) { sql, _ in
            guard
                try await sql.raw(
                    "SELECT 1 AS one FROM blocks WHERE user_id = \(bind: user.rawValue) AND blocked_id = \(bind: target.rawValue)"
                ).first() != nil
            else { throw KithError(.notFound, field: "userId", detail: "You have not blocked this person.") }
            try await sql.raw(
                "DELETE FROM blocks WHERE user_id = \(bind: user.rawValue) AND blocked_id = \(bind: target.rawValue)"
            ).run()
        }
    }

    /// A page of `owner`'s connections as `viewer` may see them, ordered by user ID.
    ///
    /// - Throws: `forbidden` when the list is not the viewer's to see: only the owner and the owner's
    ///   connections see it, and nobody else when the owner hides it; `not-found` for an unknown person
    ///   or across a block.
    public func connections(
        of owner: UserID,
        viewer: UserID,
        after cursor: String?,
        limit: Int
    ) async throws -> [PersonSummary] {
        try await store.database.read { sql in
            guard let (relationship, profile) = try await Self.standing(of: viewer, to: owner, on: sql) else {
                throw KithError.noSuchPerson
            }
            let admitted = AccessPolicy.admitted(to: .person(relationship), of: SubjectSettings(profile))
            guard admitted.exists else { throw KithError.noSuchPerson }
            guard admitted.connectionList else {
                throw KithError(
                    .forbidden,
                    field: "userId",
                    detail: "This person's connection list is not shown to you."
                )
            }
            let blocked = try await Self.blockedEitherWay(viewer, on: sql)
            let peers = try await sql.raw(
                """
                SELECT peer_id FROM connections WHERE user_id = \(bind: owner.rawValue) AND peer_id > \(bind: cursor ?? "")
                ORDER BY peer_id LIMIT \(bind: limit + blocked.count)
                """
            ).all().map { UserID(rawValue: try $0.decode(column: "peer_id", as: String.self)) }
                .filter { !blocked.contains($0) }.prefix(limit)
            var relationships: [UserID: Relationship] = [viewer: .selfView]
            if relationship == .selfView {
                for peer in peers { relationships[peer] = .connection }
            } else if !peers.isEmpty {
                let mine = Set(
                    try await sql.select().column("peer_id").from("connections")
                        .where("user_id", .equal, viewer.rawValue).where("peer_id", .in, peers.map(\.rawValue)).all()
                        .map { UserID(rawValue: try $0.decode(column: "peer_id", as: String.self)) }
                )
                for peer in peers where peer != viewer {
                    relationships[peer] = mine.contains(peer) ? .connection : .other
                }
            }
            let summaries = try await Self.summaries(of: Array(peers), relationships: relationships, on: sql)
            return peers.compactMap { summaries[$0] }
        }
    }

    // MARK: Endorsements (MSG-01)

    /// Endorses or tags a connection. Only a registered person one is connected to can be endorsed, and
    /// endorsing sends no message to anyone: the person sees it on their profile (MSG-01, Wang v. Maimai).
    ///
    /// - Throws: `forbidden` when the two are not connected (including non-users and oneself).
    public func endorse(
        _ endorsee: UserID,
        by endorser: UserID,
        tag: EndorsementTag,
        initiation: Initiation
    ) async throws -> (id: String, created: Bool) {
        try await write(endorser, "endorsement given", initiation, about: endorsee) { sql, now in
            guard endorser != endorsee, try await Self.areConnected(endorser, endorsee, on: sql) else {
                throw KithError(
                    .forbidden,
                    field: "userId",
                    detail: "You can endorse only people you are connected to."
                )
            }
            if let existing = try await sql.raw(
                """
                SELECT id FROM endorsements WHERE endorsee_id = \(bind: endorsee.rawValue)
                AND endorser_id = \(bind: endorser.rawValue) AND tag = \(bind: tag.storedForm)
                """
            ).first() {
                return (try existing.decode(column: "id", as: String.self), false)
            }
            let id = UUID().uuidString.lowercased()
            try await sql.raw(
                """
                INSERT INTO endorsements (id, endorser_id, endorsee_id, tag, hidden, created_at)
                VALUES (\(bind: id), \(bind: endorser.rawValue), \(bind: endorsee.rawValue), \(bind: tag.storedForm), 0, \(bind: now))
                """
            ).run()
            return (id, true)
        }
    }

    /// Hides or shows an endorsement on one's own profile.
    public func setEndorsementHidden(
        _ id: String,
        of user: UserID,
        hidden: Bool,
        initiation: Initiation
    ) async throws {
        try await write(user, hidden ? "endorsement hidden" : "endorsement shown", initiation) { sql, _ in
            try await Self.requireOwnEndorsement(id, of: user, on: sql)
            try await sql.raw("UPDATE endorsements SET hidden = \(bind: hidden ? 1 : 0) WHERE id = \(bind: id)").run()
        }
    }

    /// Deletes an endorsement from one's own profile.
    public func deleteEndorsement(_ id: String, of user: UserID, initiation: Initiation) async throws {
        try await write(user, "endorsement deleted", initiation) { sql, _ in
            try await Self.requireOwnEndorsement(id, of: user, on: sql)
            try await sql.raw("DELETE FROM endorsements WHERE id = \(bind: id)").run()
        }
    }

    static func requireOwnEndorsement(_ id: String, of user: UserID, on sql: any SQLDatabase) async throws {
        guard
            try await sql.raw(
                "SELECT 1 AS one FROM endorsements WHERE id = \(bind: id) AND endorsee_id = \(bind: user.rawValue)"
            ).first() != nil
        else {
            throw KithError(.notFound, field: "endorsementId", detail: "There is no such endorsement on your profile.")
        }
    }

    /// Every endorsement of `user`, for the person themself.
    static func endorsements(
        of user: UserID,
        locale: NoticeLocale,
        on sql: any SQLDatabase
    ) async throws -> [Endorsement] {
        let rows = try await sql.raw(
            "SELECT * FROM endorsements WHERE endorsee_id = \(bind: user.rawValue) ORDER BY created_at DESC, id"
        ).all()
        let endorsers = try rows.map { UserID(rawValue: try $0.decode(column: "endorser_id", as: String.self)) }
        guard !endorsers.isEmpty else { return [] }
        let connected = Set(
            try await sql.select().column("peer_id").from("connections").where("user_id", .equal, user.rawValue)
                .where("peer_id", .in, endorsers.map(\.rawValue)).all()
                .map { UserID(rawValue: try $0.decode(column: "peer_id", as: String.self)) }
        )
        let summaries = try await Self.summaries(
            of: endorsers,
            relationships: Dictionary(uniqueKeysWithValues: connected.map { ($0, .connection) }),
            on: sql
        )
        return try zip(rows, endorsers).compactMap { row, endorser in
            guard let tag = EndorsementTag(storedForm: try row.decode(column: "tag", as: String.self)) else {
                return nil
            }
            return Endorsement(
                endorsementId: try row.decode(column: "id", as: String.self),
                endorser: summaries[endorser] ?? PersonSummary(userId: endorser),
                tag: tag.storedForm,
                label: tag.label(locale),
                hidden: try row.decode(column: "hidden", as: Int.self) == 1,
                createdAt: try row.decode(column: "created_at", as: Int64.self)
            )
        }
    }

    /// The visible tags on `user`'s profile, counted, for anyone else.
    static func endorsementCounts(
        of user: UserID,
        locale: NoticeLocale,
        on sql: any SQLDatabase
    ) async throws -> [EndorsementCount] {
        let rows = try await sql.raw(
            """
            SELECT tag, COUNT(*) AS n FROM endorsements WHERE endorsee_id = \(bind: user.rawValue) AND hidden = 0
            GROUP BY tag ORDER BY n DESC, tag
            """
        ).all()
        return try rows.compactMap { row in
            guard let tag = EndorsementTag(storedForm: try row.decode(column: "tag", as: String.self)) else {
                return nil
            }
            return EndorsementCount(
                tag: tag.storedForm,
                label: tag.label(locale),
                count: try row.decode(column: "n", as: Int.self)
            )
        }
    }

    // MARK: Suggestion controls

    /// Dismisses a suggested person for good, across every source of suggestions.
    public func dismiss(_ candidate: UserID, by user: UserID, initiation: Initiation) async throws {
        try await write(user, "suggestion dismissed", initiation) { sql, now in
            guard user != candidate, try await Self.exists(candidate, on: sql) else { throw KithError.noSuchPerson }
            try await sql.raw(
                """
                INSERT INTO suggestion_dismissals (user_id, dismissed_id, created_at)
                VALUES (\(bind: user.rawValue), \(bind: candidate.rawValue), \(bind: now)) ON CONFLICT DO NOTHING
                """
            ).run()
        }
    }
}

extension PersonSummary {
    init(userId: UserID) { self.init(userId: userId, displayName: nil, headline: nil) }
}

extension ProfileField {
    /// The column a field is stored in.
    var column: String {
        switch self {
        case .displayName: "display_name"
        case .headline: "headline"
        case .employer: "employer"
        case .school: "school"
        case .city: "city"
        case .avatarURL: "avatar_url"
        }
    }
}

extension KithError {
    /// An unknown person, oneself where that makes no sense, or someone behind a block — one answer for all.
    public static let noSuchPerson = KithError(.notFound, field: "userId", detail: "There is no such person.")
}

/// Profiles' audience settings, decoded once per distinct stored form (issue 12): most people keep one
/// of a few combinations, and decoding the JSON of every profile a suggestion list reads was a large part
/// of its cost. The memo holds settings values only, never whose they are.
enum AudienceDecoding {
    private static let memo = Mutex([String: [ProfileField: Audience]]())
    static let capacity = 1_024

    static func decode(_ stored: String) throws -> [ProfileField: Audience] {
        if let known = memo.withLock({ $0[stored] }) { return known }
        let decoded = try JSONDecoder().decode([ProfileField: Audience].self, from: Data(stored.utf8))
        memo.withLock { memo in
            if memo.count >= capacity { memo.removeAll(keepingCapacity: true) }
            memo[stored] = decoded
        }
        return decoded
    }
}

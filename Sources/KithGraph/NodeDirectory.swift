/// A dense node index: the position of a user in every graph array.
///
/// The server maps each user ID to a `NodeID` once, through a ``NodeDirectory``, and the graph never sees anything
/// else. Dense indices keep adjacency at four bytes per entry and let scratch buffers be plain arrays indexed by node.
public typealias NodeID = UInt32

/// Maps external user IDs to dense ``NodeID`` values and back. Node numbers are never reused: a forgotten
/// user's node stays allocated with no one behind it.
///
/// IDs are handed out in order of first sight, starting at 0, so the directory's ``count`` is also the node count a
/// graph needs to hold every known user.
public struct NodeDirectory: Sendable {
    /// The user ID of each node, indexed by `NodeID`.
    public private(set) var userIDs: [String]
    private var nodeIDsByUserID: [String: NodeID]

    /// Creates an empty directory.
    public init() {
        userIDs = []
        nodeIDsByUserID = [:]
    }

    /// Creates a directory that assigns nodes to `userIDs` in order, skipping repeats.
    public init(userIDs: some Sequence<String>) {
        self.init()
        for userID in userIDs {
            nodeID(for: userID)
        }
    }

    /// The number of users known, which is one more than the highest `NodeID` handed out.
    public var count: Int { userIDs.count }

    /// Returns the node of `userID`, assigning the next free node if the user is new.
    @discardableResult
    public mutating func nodeID(for userID: String) -> NodeID {
        if let existing = nodeIDsByUserID[userID] {
            return existing
        }
        precondition(userIDs.count < Int(NodeID.max), "NodeDirectory is full")
        let node = NodeID(userIDs.count)
        userIDs.append(userID)
        nodeIDsByUserID[userID] = node
        return node
    }

    /// Returns the node of `userID` if the user is known, without assigning one.
    public func existingNodeID(for userID: String) -> NodeID? {
        nodeIDsByUserID[userID]
    }

    /// Returns the user ID behind `node`, or `nil` if no user has that node.
    public func userID(of node: NodeID) -> String? {
        guard Int(node) < userIDs.count else { return nil }
        let userID = userIDs[Int(node)]
        return userID.isEmpty ? nil : userID
    }

    /// Forgets `userID` (an erased person): its node stays allocated, with no one behind it.
    /// - Returns: the node it had, if it was known.
    @discardableResult
    public mutating func forget(_ userID: String) -> NodeID? {
        guard let node = nodeIDsByUserID.removeValue(forKey: userID) else { return nil }
        userIDs[Int(node)] = ""
        return node
    }
}

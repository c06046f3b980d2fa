import Foundation
import KithCore
import KithGraph
import SQLKit

/// A reason as the API shows it: the code and the sentence.
public struct ReasonView: Codable, Sendable, Equatable {
    public var code: String
    public var text: String
}

/// One suggested person.
public struct SuggestedPerson: Codable, Sendable, Equatable {
    public var person: PersonSummary
    /// The strongest reason first.
    public var reasons: [ReasonView]
}

/// What `listSuggestions` answers.
public struct SuggestionList: Codable, Sendable {
    /// False for the plain list shown when personalisation is off (PYM-02, PYM-08).
    public var personalised: Bool
    /// The label shown above the list, saying which kind it is (PYM-08).
    public var label: String
    public var suggestions: [SuggestedPerson]
}

/// A person two steps away (二度人脉).
public struct SecondDegreePerson: Codable, Sendable, Equatable {
    public var person: PersonSummary
    /// Mutual connections through whom the viewer may see this person (hidden lists never count).
    public var mutualCount: Int
    /// The mutual connections the viewer may see named.
    public var mutuals: [PersonSummary]
}

/// People-you-may-know and the second-degree network, with honest reasons (PYM-01..04, PYM-08, DSR-09).
///
/// Personalised suggestions need the viewer's `personalised-suggestions` consent; without it the viewer
/// gets a plain list of the most connected people who show their name to everyone, built without
/// reading the viewer's profile, contacts or network beyond "already connected, blocked, dismissed"
/// (PYM-02). Candidates come from four signals — mutual connections (Resource Allocation), "you have
/// their number" (the person is discoverable, CON-05), "they have your number" (only with the viewer's
/// `reverse-contact-suggestions` consent, PYM-01, Ling v. Douyin), and the same employer or school
/// (only fields the person shows to everyone). Never suggested: oneself, connections, people with a
/// pending request either way, blocked people either way, dismissed people, people who opted out of
/// being suggested.
public struct PeopleYouMayKnow: Sendable {
    public let network: SocialNetwork
    var store: KithStore { network.store }
    var replica: GraphReplica { network.replica }

    public init(network: SocialNetwork) { self.network = network }

    /// What rules a viewer's suggestions: read from the store once per request.
    struct Viewer {
        var user: UserID
        var personalised: Bool
        var reverseContacts: Bool
        /// Blocked either way, dismissed, pending requests either way.
        var excluded: Set<UserID>
        /// The viewer's own profile; read only for personalised suggestions (PYM-02).
        var profile: Profile
    }

    func viewer(_ user: UserID, on sql: any SQLDatabase) async throws -> Viewer {
        let ledger = ConsentLedger(store: store)
        var excluded = try await SocialNetwork.blockedEitherWay(user, on: sql)
        for row in try await sql.raw(
            """
            SELECT dismissed_id AS other FROM suggestion_dismissals WHERE user_id = \(bind: user.rawValue)
            UNION SELECT to_id AS other FROM connection_requests WHERE from_id = \(bind: user.rawValue) AND status = 'pending'
            UNION SELECT from_id AS other FROM connection_requests WHERE to_id = \(bind: user.rawValue) AND status = 'pending'
            """
        ).all() {
            excluded.insert(UserID(rawValue: try row.decode(column: "other", as: String.self)))
        }
        let personalised = try await ledger.currentID(.personalisedSuggestions, of: user, on: sql) != nil
        return Viewer(
            user: user,
            personalised: personalised,
            reverseContacts: try await ledger.currentID(.reverseContactSuggestions, of: user, on: sql) != nil,
            excluded: excluded,
            profile: personalised ? try await SocialNetwork.profile(of: user, on: sql) : Profile()
        )
    }

    /// The viewer's suggestions, best first.
    public func list(
        for user: UserID,
        limit: Int,
        locale: NoticeLocale,
        initiation: Initiation
    ) async throws -> SuggestionList {
        let viewer = try await store.database.read { try await self.viewer(user, on: $0) }
        guard viewer.personalised else {
            return try await loggedPlainList(for: viewer, limit: limit, locale: locale, initiation: initiation)
        }
        let act = ProcessingAct.own(
            .personalisedSuggestions,
            by: user,
            initiation: initiation,
            detail: "suggestions computed"
        )
        // Computed on a read connection; the log entry (which re-checks the consent) is a short write of
        // its own, so a slow ranking never holds the store's writer.
        let suggestions = try await store.database.read { sql in
            let candidates = try await self.candidates(for: viewer, limit: limit, on: sql)
            return try await self.evaluate(candidates, for: viewer, limit: limit, locale: locale, on: sql)
        }
        do {
            var logged = act
            logged.detail = "suggestions computed: \(suggestions.count) shown"
            try await store.logDerivation(logged)
        } catch let error as KithError where error.code == .consentRequired {
            // Withdrawn while this request ran: the withdrawal wins (PYM-02).
            return try await loggedPlainList(for: viewer, limit: limit, locale: locale, initiation: initiation)
        }
        return SuggestionList(
            personalised: true,
            label: Self.personalisedLabel.text(for: locale),
            suggestions: suggestions
        )
    }

    /// Why `candidate` is suggested to the viewer now; `nil` when they would not be suggested. Logged as
    /// one derivation per request naming the viewer, like the list it explains (SEC-01).
    public func explain(
        _ candidate: UserID,
        for user: UserID,
        locale: NoticeLocale,
        initiation: Initiation
    ) async throws -> SuggestedPerson? {
        let viewer = try await store.database.read { try await self.viewer(user, on: $0) }
        let explained: SuggestedPerson?
        if viewer.personalised {
            let threeStep = threeStepPool(for: viewer, limit: 1)
            explained = try await store.database.read { sql in
                try await self.evaluate(
                    Candidates(people: [candidate], threeStep: threeStep),
                    for: viewer,
                    limit: 1,
                    locale: locale,
                    on: sql
                ).first
            }
        } else {
            explained = try await plainList(for: viewer, limit: 200, locale: locale).suggestions.first {
                $0.person.userId == candidate
            }
        }
        guard explained != nil else { return nil }
        let act = ProcessingAct.own(
            viewer.personalised ? .personalisedSuggestions : .socialNetwork,
            by: user,
            initiation: initiation,
            detail: "suggestion explained"
        )
        do {
            try await store.logDerivation(act)
        } catch let error as KithError where error.code == .consentRequired {
            // Withdrawn while this request ran: nothing personalised is explained (PYM-02).
            return nil
        }
        return explained
    }

    /// The plain list, logged as one derivation naming the viewer.
    func loggedPlainList(
        for viewer: Viewer,
        limit: Int,
        locale: NoticeLocale,
        initiation: Initiation
    ) async throws -> SuggestionList {
        let list = try await plainList(for: viewer, limit: limit, locale: locale)
        try await store.logDerivation(
            ProcessingAct(
                purpose: .socialNetwork,
                actor: .user(viewer.user),
                subject: viewer.user,
                initiation: initiation,
                detail: "plain suggestion list: \(list.suggestions.count) shown"
            )
        )
        return list
    }

    static let personalisedLabel = LocalizedText(
        zhCN: "个性化推荐：根据您的人脉与资料",
        en: "Personalised: based on your network and profile"
    )
    static let plainLabel = LocalizedText(
        zhCN: "非个性化列表：未使用您的个人特征",
        en: "Not personalised: no personal characteristics used"
    )

    /// The non-personalised list (PYM-02): the most connected people who show their name to everyone.
    func plainList(for viewer: Viewer, limit: Int, locale: NoticeLocale) async throws -> SuggestionList {
        let viewerNode = replica.existingNode(for: viewer.user)
        let nodes = replica.mostConnected(limit: 200, now: store.clock.nowMillis).filter { node in
            node != viewerNode && AccessPolicy.maySuggest(replica.settings(of: node), to: .other)
                && !(viewerNode.map { replica.graph.areConnected($0, node) } ?? false)
        }
        let users = replica.users(of: nodes).filter { !viewer.excluded.contains($0) }
        // Read in rank order, a few more than are shown at a time, until the list is full (issue 12).
        let batch = max(20, limit * 2)
        let suggestions = try await store.database.read { sql in
            var shown: [SuggestedPerson] = []
            for start in stride(from: 0, to: users.count, by: batch) where shown.count < limit {
                let next = Array(users[start..<min(start + batch, users.count)])
                let profiles = try await SocialNetwork.profiles(of: next, on: sql)
                let suggestable = try await SocialNetwork.suggestable(next, on: sql)
                shown += next.compactMap { user -> SuggestedPerson? in
                    guard suggestable.contains(user), let profile = profiles[user],
                        profile.value(.displayName, for: .other) != nil
                    else { return nil }
                    return SuggestedPerson(
                        person: PersonSummary(
                            userId: user,
                            displayName: profile.value(.displayName, for: .other),
                            headline: profile.value(.headline, for: .other)
                        ),
                        reasons: [ReasonView(SuggestionReason.nonPersonalised, locale)]
                    )
                }
            }
            return shown
        }
        return SuggestionList(
            personalised: false,
            label: Self.plainLabel.text(for: locale),
            suggestions: Array(suggestions.prefix(limit))
        )
    }

    /// Candidates from every signal, before the rules and reasons are applied, and the three-step
    /// signal when it is used.
    struct Candidates {
        var people: Set<UserID>
        /// People three steps away, for a viewer whose two-step candidates run short (issue 16).
        var threeStep: [UserID: ThreeStepSuggestion]
    }

    /// Fewer two-step candidates than this and the list is filled from three steps away (issue 16). A list
    /// ranks at least this many two-step candidates, so it and the explanation of one of it agree on
    /// whether it is short.
    static let threeStepBelow = ThreeStepSuggestion.fillBelow

    /// The people three steps from the viewer through connection lists they may see, when their two-step
    /// candidates run short; empty otherwise.
    ///
    /// - Parameter twoStep: How many two-step candidates a ranking of at least ``threeStepBelow`` found;
    ///   `nil` to rank them here.
    func threeStepPool(for viewer: Viewer, limit: Int, twoStep: Int? = nil) -> [UserID: ThreeStepSuggestion] {
        let node = replica.node(for: viewer.user)
        let filter = replica.policyFilter(excluding: viewer.excluded)
        let twoStep = twoStep ?? replica.graph.suggestions(for: node, k: Self.threeStepBelow, filter: filter).count
        guard twoStep < Self.threeStepBelow else { return [:] }
        let found = replica.graph.threeStepSuggestions(
            for: node,
            k: max(Self.threeStepBelow, limit * 3),
            filter: filter
        )
        return Dictionary(zip(replica.users(of: found.map(\.candidate)), found)) { first, _ in first }
    }

    func candidates(for viewer: Viewer, limit: Int, on sql: any SQLDatabase) async throws -> Candidates {
        var candidates: Set<UserID> = []
        let replica = self.replica
        let node = replica.node(for: viewer.user)
        let filter = replica.policyFilter(excluding: viewer.excluded)
        let ranked = replica.graph.suggestions(for: node, k: max(Self.threeStepBelow, limit * 3), filter: filter)
        candidates.formUnion(replica.users(of: ranked.map(\.candidate)))
        let threeStep = threeStepPool(for: viewer, limit: limit, twoStep: ranked.count)
        candidates.formUnion(threeStep.keys)
        for row in try await sql.raw(
            "SELECT contact_id AS other FROM contact_edges WHERE owner_id = \(bind: viewer.user.rawValue) LIMIT 5000"
        ).all() {
            candidates.insert(UserID(rawValue: try row.decode(column: "other", as: String.self)))
        }
        if viewer.reverseContacts {
            let owners = try await sql.raw(
                "SELECT owner_id AS other FROM contact_edges WHERE contact_id = \(bind: viewer.user.rawValue) LIMIT 5000"
            ).all().map { UserID(rawValue: try $0.decode(column: "other", as: String.self)) }
            // PYM-04: an uploader becomes a candidate through the edge only with their own consent to it.
            candidates.formUnion(
                try await ConsentLedger(store: store).holders(of: .suggestMeToMyContacts, among: owners, on: sql)
            )
        }
        let own = viewer.profile
        for (field, key, flag) in [
            (ProfileField.employer, "employer_key", "employer_public"), (.school, "school_key", "school_public"),
        ] {
            guard let value = own.values[field], !value.isEmpty else { continue }
            for row in try await sql.raw(
                """
                SELECT user_id FROM profiles WHERE \(unsafeRaw: key) = \(bind: Profile.matchKey(value))
                AND \(unsafeRaw: flag) = 1 AND suggestable = 1 AND user_id <> \(bind: viewer.user.rawValue) LIMIT 200
                """
            ).all() {
                candidates.insert(UserID(rawValue: try row.decode(column: "user_id", as: String.self)))
            }
        }
        return Candidates(people: candidates, threeStep: threeStep)
    }

    /// Applies the rules to candidates and derives each one's reasons from the store and the graph; the
    /// best `limit`, best first.
    ///
    /// Two passes (issue 12): every candidate is ranked from the graph, the contact edges and the indexed
    /// employer and school keys, without reading a profile; only the best `limit` and the mutuals they
    /// name then have their profiles read, and their reasons and order are derived from those exactly.
    /// The keys are written with the profile in one statement (``SocialNetwork/save(_:of:at:on:)``), so
    /// both passes agree on who shares an employer or school.
    ///
    /// Equal ranks are ordered by more mutual connections, then more people in common three steps away,
    /// then more connections — a signal each, never the identifier alone (issue 16).
    func evaluate(
        _ candidates: Candidates,
        for viewer: Viewer,
        limit: Int,
        locale: NoticeLocale,
        on sql: any SQLDatabase
    ) async throws -> [SuggestedPerson] {
        let viewerNode = replica.node(for: viewer.user)
        var eligible = candidates.people.filter { candidate in
            guard candidate != viewer.user, !viewer.excluded.contains(candidate) else { return false }
            guard let node = replica.existingNode(for: candidate) else { return true }
            return !replica.graph.areConnected(viewerNode, node)
        }
        eligible.formIntersection(try await SocialNetwork.suggestable(eligible, on: sql))
        guard !eligible.isEmpty else { return [] }
        let list = Array(eligible)

        // Contact signals: edges kept under their uploader's consent, used only as the rules allow.
        let discoverable = try await ConsentLedger(store: store).holders(of: .discoverableByPhone, among: list, on: sql)
        let haveTheirs = try await Self.contactEdges(of: viewer.user, .outgoing, among: list, on: sql)
        // PYM-04: "they have your number" tells the viewer what is in the uploader's address book, so it needs
        // the uploader's own consent to that as well as the viewer's: without both the edge neither ranks nor shows.
        let haveMine =
            viewer.reverseContacts
            ? try await Self.contactEdges(of: viewer.user, .incoming, among: list, on: sql).intersection(
                try await ConsentLedger(store: store).holders(of: .suggestMeToMyContacts, among: list, on: sql)
            ) : []

        // Mutual connections through connections whose lists are not hidden.
        let graph = replica.graph.snapshot()
        let visible = graph.neighbors(of: viewerNode).filter {
            AccessPolicy.mayCountAsMutual(replica.settings(of: $0), for: .connection)
        }
        var mutualsOf: [UserID: [NodeID]] = [:]
        for candidate in list {
            guard let node = replica.existingNode(for: candidate) else { continue }
            let mutuals = Self.intersect(visible, graph.neighbors(of: node))
            if !mutuals.isEmpty {
                // Strongest evidence first: the mutual with the fewest connections.
                mutualsOf[candidate] = mutuals.sorted { (graph.degree(of: $0), $0) < (graph.degree(of: $1), $1) }
            }
        }
        let own = viewer.profile

        // Pass 1: rank everyone without reading a profile.
        var sameEmployer: Set<UserID> = []
        var sameSchool: Set<UserID> = []
        for (field, key, flag) in [
            (ProfileField.employer, "employer_key", "employer_public"), (.school, "school_key", "school_public"),
        ] {
            guard let mine = own.values[field], !mine.isEmpty else { continue }
            let sharing = try await Self.sharing(key, flag, Profile.matchKey(mine), among: list, on: sql)
            if field == .employer { sameEmployer = sharing } else { sameSchool = sharing }
        }
        let ranked = list.compactMap { candidate -> (score: Double, user: UserID)? in
            var score = mutualsOf[candidate].map { $0.reduce(0) { $0 + 1 / Double(max(1, graph.degree(of: $1))) } }
            if discoverable.contains(candidate), haveTheirs.contains(candidate) {
                score = (score ?? 0) + SuggestionReason.youHaveTheirNumber.weight
            }
            if haveMine.contains(candidate) { score = (score ?? 0) + SuggestionReason.theyHaveYourNumber.weight }
            if sameEmployer.contains(candidate) { score = (score ?? 0) + SuggestionReason.sameEmployer("").weight }
            if sameSchool.contains(candidate) { score = (score ?? 0) + SuggestionReason.sameSchool("").weight }
            if mutualsOf[candidate] == nil, let far = candidates.threeStep[candidate] {
                score = (score ?? 0) + far.score
            }
            return score.map { ($0, candidate) }
        }
        // The tie-breaks after the rank, looked up once per candidate: mutual connections, people in common
        // three steps away, connections.
        let ties = Dictionary(
            uniqueKeysWithValues: list.map { user in
                (
                    user,
                    (
                        mutualsOf[user]?.count ?? 0, candidates.threeStep[user]?.bridgeCount ?? 0,
                        replica.existingNode(for: user).map { graph.degree(of: $0) } ?? 0
                    )
                )
            }
        )
        func order(_ score: Double, _ user: UserID) -> (Double, Int, Int, Int) {
            let tie = ties[user] ?? (0, 0, 0)
            return (score, tie.0, tie.1, tie.2)
        }
        let shown = ranked.sorted { a, b in
            let (x, y) = (order(a.score, a.user), order(b.score, b.user))
            return x != y ? x > y : a.user.rawValue < b.user.rawValue
        }.prefix(limit).map(\.user)

        // Pass 2: the profiles of those shown and of the mutuals they name; their reasons, exactly.
        let named = Set(shown.flatMap { mutualsOf[$0]?.prefix(Self.namedMutualLookup) ?? [] })
        let namedUsers = replica.users(of: Array(named))
        let names = try await SocialNetwork.profiles(of: namedUsers + shown, on: sql)

        var scored: [(score: Double, user: UserID, person: SuggestedPerson)] = []
        for candidate in shown {
            let profile = names[candidate] ?? Profile()
            // Each reason with what it adds to the rank, so the strongest is listed first.
            var reasons: [(weight: Double, reason: SuggestionReason)] = []
            if let mutuals = mutualsOf[candidate] {
                let score = mutuals.reduce(0) { $0 + 1 / Double(max(1, graph.degree(of: $1))) }
                let shown = replica.users(of: Array(mutuals.prefix(Self.namedMutualLookup)))
                    .compactMap { names[$0]?.value(.displayName, for: .connection) }
                    .prefix(Suggestion.defaultNamedMutualLimit)
                reasons.append((score, .mutualConnections(count: mutuals.count, names: Array(shown))))
            }
            var others: [SuggestionReason] = []
            if discoverable.contains(candidate), haveTheirs.contains(candidate) { others.append(.youHaveTheirNumber) }
            if haveMine.contains(candidate) { others.append(.theyHaveYourNumber) }
            if let employer = profile.value(.employer, for: .other), let mine = own.values[.employer],
                Profile.matchKey(mine) == Profile.matchKey(employer)
            {
                others.append(.sameEmployer(employer))
            }
            if let school = profile.value(.school, for: .other), let mine = own.values[.school],
                Profile.matchKey(mine) == Profile.matchKey(school)
            {
                others.append(.sameSchool(school))
            }
            reasons += others.map { ($0.weight, $0) }
            if mutualsOf[candidate] == nil, let far = candidates.threeStep[candidate] {
                reasons.append((far.score, .extendedNetwork(count: far.bridgeCount)))
            }
            guard !reasons.isEmpty else { continue }
            reasons.sort { $0.weight > $1.weight }
            scored.append(
                (
                    reasons.reduce(0) { $0 + $1.weight },
                    candidate,
                    SuggestedPerson(
                        person: PersonSummary(
                            userId: candidate,
                            displayName: profile.value(.displayName, for: .other),
                            headline: profile.value(.headline, for: .other)
                        ),
                        reasons: reasons.map { ReasonView($0.reason, locale) }
                    )
                )
            )
        }
        scored.sort { a, b in
            let (x, y) = (order(a.score, a.user), order(b.score, b.user))
            return x != y ? x > y : a.user.rawValue < b.user.rawValue
        }
        return scored.map(\.person)
    }

    /// Which of `users` show, to everyone, the employer or school whose match key is `key` (pass 1 of
    /// ``evaluate(_:for:limit:locale:on:)``), from the indexed columns alone.
    static func sharing(
        _ keyColumn: String,
        _ publicColumn: String,
        _ key: String,
        among users: [UserID],
        on sql: any SQLDatabase
    ) async throws -> Set<UserID> {
        var sharing: Set<UserID> = []
        for chunk in stride(from: 0, to: users.count, by: 500) {
            let ids = users[chunk..<min(chunk + 500, users.count)].map(\.rawValue)
            // `key || ''` keeps SQLite from starting at the employer's (or school's) index, which holds every
            // public profile of it: the candidates, at most 500 primary keys, are the smaller side.
            for row in try await sql.raw(
                """
                SELECT user_id FROM profiles WHERE \(unsafeRaw: keyColumn) || '' = \(bind: key)
                AND \(unsafeRaw: publicColumn) = 1 AND user_id IN (\(binds: ids))
                """
            ).all() {
                sharing.insert(UserID(rawValue: try row.decode(column: "user_id", as: String.self)))
            }
        }
        return sharing
    }

    /// The second-degree network: people two steps away through connections whose lists are not hidden,
    /// most mutual connections first.
    ///
    /// Logged as one derivation per request naming the viewer (SEC-01).
    public func secondDegree(of user: UserID, limit: Int, initiation: Initiation) async throws -> [SecondDegreePerson] {
        let blocked = try await store.database.read { try await SocialNetwork.blockedEitherWay(user, on: $0) }
        let replica = self.replica
        // The same policy as suggestions: "don't suggest me" keeps a person out of the second degree too (DSR-09).
        let filter = replica.policyFilter(excluding: blocked)
        let ranked = replica.graph.suggestions(
            for: replica.node(for: user),
            k: limit,
            scorer: .commonNeighbours,
            filter: filter
        )
        let people = replica.users(of: ranked.map(\.candidate))
        let mutuals = ranked.map { replica.users(of: $0.mutuals) }
        try await store.logDerivation(
            ProcessingAct.own(
                .socialNetwork,
                by: user,
                initiation: initiation,
                detail: "second degree computed: \(people.count) shown"
            )
        )
        return try await store.database.read { sql in
            let summaries = try await SocialNetwork.summaries(
                of: people + mutuals.flatMap { $0 },
                relationships: Dictionary(mutuals.flatMap { $0 }.map { ($0, .connection) }) { a, _ in a },
                on: sql
            )
            return zip(zip(ranked, people), mutuals).map { pair, mutuals in
                SecondDegreePerson(
                    person: summaries[pair.1] ?? PersonSummary(userId: pair.1),
                    mutualCount: pair.0.mutualCount,
                    mutuals: mutuals.compactMap { summaries[$0] }
                )
            }
        }
    }

    /// How many of the strongest mutual connections are looked at to find up to three with names the viewer may see.
    static let namedMutualLookup = 10

    /// Which of `others` are at the far end of a contact edge from `user`: uploaded by `user`
    /// (`outgoing`), or uploaders of `user`'s number (`incoming`).
    static func contactEdges(
        of user: UserID,
        _ direction: ContactDirection,
        among others: [UserID],
        on sql: any SQLDatabase
    ) async throws -> Set<UserID> {
        let (mine, theirs) = direction == .outgoing ? ("owner_id", "contact_id") : ("contact_id", "owner_id")
        var found: Set<UserID> = []
        for chunk in stride(from: 0, to: others.count, by: 500) {
            let rows = try await sql.select().column(theirs, as: "other").from("contact_edges")
                .where(SQLColumn(mine), .equal, SQLBind(user.rawValue))
                .where(
                    SQLColumn(theirs),
                    .in,
                    SQLBind.group(others[chunk..<min(chunk + 500, others.count)].map(\.rawValue))
                )
                .all()
            for row in rows { found.insert(UserID(rawValue: try row.decode(column: "other", as: String.self))) }
        }
        return found
    }

    enum ContactDirection { case outgoing, incoming }

    /// The intersection of two sorted lists.
    static func intersect(_ a: [NodeID], _ b: [NodeID]) -> [NodeID] {
        var result: [NodeID] = []
        var i = 0
        var j = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                result.append(a[i])
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return result
    }
}

extension ReasonView {
    init(_ reason: SuggestionReason, _ locale: NoticeLocale) {
        self.init(code: reason.code, text: reason.text(locale))
    }
}

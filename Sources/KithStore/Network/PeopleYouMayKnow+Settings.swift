import KithCore

/// Where a person's suggestion settings stand (`getSuggestionSettings`, PYM-02, PYM-03, DSR-09).
public struct SuggestionSwitches: Sendable, Equatable {
    /// The `personalised-suggestions` consent.
    public var personalised: Bool
    /// The `reverse-contact-suggestions` consent.
    public var reverseContactSuggestions: Bool
    /// The `suggest-me-to-my-contacts` consent (PYM-04).
    public var suggestMeToMyContacts: Bool
    /// Whether others may be suggested this person (off is "don't suggest me", DSR-09).
    public var suggestMeToOthers: Bool
}

/// One part of a settings change.
public enum SuggestionSettingChange: Sendable {
    /// Turn a consent purpose on, with the evidence of the moment.
    case grant(ConsentEvidence)
    /// Turn a consent purpose off (ACC-07).
    case withdraw(PurposeID)
    /// "Suggest me to others" on or off (DSR-09).
    case suggestMeToOthers(Bool)
}

extension PeopleYouMayKnow {
    /// The person's suggestion switches, read together.
    public func switches(of user: UserID) async throws -> SuggestionSwitches {
        let store = self.store
        return try await store.database.read { sql in
            let ledger = ConsentLedger(store: store)
            return SuggestionSwitches(
                personalised: try await ledger.currentID(.personalisedSuggestions, of: user, on: sql) != nil,
                reverseContactSuggestions: try await ledger.currentID(.reverseContactSuggestions, of: user, on: sql)
                    != nil,
                suggestMeToMyContacts: try await ledger.currentID(.suggestMeToMyContacts, of: user, on: sql) != nil,
                suggestMeToOthers: try await SocialNetwork.suggestable(user, on: sql)
            )
        }
    }

    /// Applies a settings change of several parts in one transaction: all of it, each part logged, or
    /// none of it.
    ///
    /// - Throws: what the first refused part throws (`consent-prechecked`, `notice-mismatch`, …); then
    ///   nothing has changed.
    public func change(
        _ changes: [SuggestionSettingChange],
        of user: UserID,
        initiation: Initiation
    ) async throws {
        guard !changes.isEmpty else { return }
        let store = self.store
        let network = self.network
        let replica = self.replica
        let switched: (hides: Bool, suggestable: Bool)? = try await store.database.transaction { sql in
            let ledger = ConsentLedger(store: store)
            var switched: (hides: Bool, suggestable: Bool)?
            for change in changes {
                switch change {
                case .grant(let evidence):
                    _ = try await ledger.grant(evidence, by: user, initiation: initiation, on: sql)
                case .withdraw(let purpose):
                    _ = try await ledger.withdraw(purpose, by: user, initiation: initiation, on: sql)
                case .suggestMeToOthers(let on):
                    let hides = try await network.setSuggestable(user, on, initiation: initiation, on: sql)
                    switched = (hides, on)
                }
            }
            return switched
        }
        if let switched { replica.apply(user, hidesConnections: switched.hides, suggestable: switched.suggestable) }
    }
}

import KithCore

extension DataInventory {
    /// Kith's inventory: every table and column of ``Migrations/all`` and every in-memory holder of
    /// personal information (CON-00, SEC-07, GEN-02).
    ///
    /// A migration that adds a table or column adds its entry here in the same change; the schema test
    /// fails until it does.
    public static let kith = DataInventory(tables: kithTables, holders: kithHolders)

    static let account: [PurposeID] = [.account]
    static let network: [PurposeID] = [.socialNetwork]
    static let networkAndSuggestions: [PurposeID] = [.socialNetwork, .personalisedSuggestions]
    /// Address-book data serves discovery and, with their own consents, the suggestions built on it.
    static let addressBook: [PurposeID] = [
        .contactDiscovery, .reverseContactSuggestions, .suggestMeToMyContacts, .personalisedSuggestions,
    ]

    /// Longest a rate-limit bucket of each kind takes to fill up again from empty: after that a bucket
    /// is as good as absent (``RateLimiter`` treats a missing bucket as full), so deleting it changes
    /// nothing. The windows come from the limits Kith applies by default (SEC-05).
    enum BucketWindow {
        static let codesPerAddress = CodeSendingPolicy().perAddress.secondsUntilFull
        static let codesPerNetwork = CodeSendingPolicy().perNetwork.secondsUntilFull
        static let verifyPerAddress = RateLimitPolicy().verifyPerAddress.secondsUntilFull
        static let discoveryPerAddress = RateLimitPolicy().discoveryUploadsPerAddress.secondsUntilFull
        /// ``ContactDiscovery``'s default quota of new numbers per account (CON-07).
        static let discoveryQuota = RateLimit.perDay(100, burst: 2000).secondsUntilFull
        /// `requestConnection`'s limit per account.
        static let connectionRequests = RateLimit.perDay(100, burst: 100).secondsUntilFull
        /// `submitDataRequest`'s limit per account (``DataRequestPolicy/perPerson``).
        static let dataRequests = DataRequestPolicy().perPerson.secondsUntilFull
        /// Invitations per inviter and day (``InvitationPolicy/perInviter``, MSG-05).
        static let invitations = InvitationPolicy().perInviter.secondsUntilFull
        /// ``ReadThrottle``'s bucket per reader (GEN-05).
        static let reads = ReadThrottlePolicy().perUser.secondsUntilFull
        /// Registration-lock PIN guesses per account (ACC-12).
        static let lockGuesses = VerificationPolicy().lockGuesses.secondsUntilFull
        static let longest = [
            codesPerAddress, codesPerNetwork, verifyPerAddress, discoveryPerAddress, discoveryQuota, connectionRequests,
            reads, lockGuesses, dataRequests, invitations,
        ].max()!
    }

    /// How long an outbound message's record is kept: the security-log minimum (SEC-01, 6 months). Its
    /// authorising entry, with the message's ID and text digest, stays in the chain for 3 years.
    static let messageRecordWindow: Int64 = 180 * 86_400

    /// How long a recheck token of an uploaded set is remembered: after that the set is uploaded as new.
    static let recheckTokenWindow: Int64 = 30 * 86_400
    /// How long graph change rows are kept for other nodes to catch up (``GraphReplica``'s poll re-reads
    /// a few seconds; an hour covers a node that paused).
    static let graphChangeWindow: Int64 = 3_600
    /// How long a deletion's status can be asked for: the longest grace period (15 working days, three
    /// weeks) and a month after it.
    static let deletionRecordWindow: Int64 = 51 * 86_400
    /// How long a data request and its answer are kept: three years, like the log's evidence (ACC-11).
    static let dataRequestWindow: Int64 = 3 * 365 * 86_400
    /// MSG-05: an invitation and its recipient's index are kept for the window of one invitation per number.
    static let invitationWindow = Int64(InvitationPolicy().perRecipientDays) * 86_400

    static func bucket(_ prefix: String, ip window: Int64) -> KeyPattern {
        KeyPattern(
            prefix,
            "<keyed hash of the client IP address>",
            category: .clientAddressKeyedHash,
            subject: .clientAddress,
            purposes: [.abusePrevention],
            retention: .window(seconds: window, after: "updated_at", unit: .seconds),
            export: .notExported("a keyed hash of an address links to no account and proves nothing to anyone")
        )
    }

    static let kithTables: [InventoryTable] = [
        InventoryTable(
            "users",
            subjects: [SubjectColumn("id")],
            retention: .whileAccountExists,
            columns: [
                InventoryColumn("id", .userIdentifier, account),
                InventoryColumn(
                    "phone_index",
                    .phoneNumberKeyedHash,
                    [.account, .discoverableByPhone],
                    export: .notExported("the number itself is exported; its keyed hash adds nothing")
                ),
                // MSG-06, ACC-12: the number marketing goes to, decrypted only for people who consented.
                InventoryColumn("phone_cipher", .phoneNumberCiphertext, account + [.marketing]),
                InventoryColumn("created_at", .activityTime, account),
                InventoryColumn("registration_evidence", .evidenceReference, [.account, .securityLog]),
                InventoryColumn(
                    "registration_lock",
                    .registrationLock,
                    account,
                    export: .notExported("a hash of the PIN proves nothing to its owner; whether a lock is set is")
                ),
                InventoryColumn("last_session_at", .activityTime, account),
                InventoryColumn("phone_seq", .evidenceReference, [.account, .discoverableByPhone]),
                InventoryColumn("frozen_at", .activityTime, account),
            ]
        ),
        InventoryTable(
            "verifications",
            subjects: [
                SubjectColumn(
                    "phone_index",
                    .numberHolder,
                    export: .notExported("gone within minutes, before an export could be asked for")
                ),
                // A number change or deletion code names the signed-in person who asked for it.
                SubjectColumn(
                    "user_id",
                    export: .notExported("gone within minutes, before an export could be asked for")
                ),
            ],
            retention: .untilExpiry(column: "expires_at", unit: .milliseconds),
            export: .notExported("gone within minutes, before an export could be asked for"),
            erase: .deleteRows,
            note: "A sign-in or opt-out code in progress; the number may belong to someone who never registers.",
            columns: [
                InventoryColumn("id", .verificationCode, [.account, .numberSuppression]),
                InventoryColumn("phone_index", .phoneNumberKeyedHash, [.account, .numberSuppression]),
                InventoryColumn("phone_cipher", .phoneNumberCiphertext, account),
                InventoryColumn("code_hash", .verificationCode, [.account, .numberSuppression]),
                InventoryColumn("attempts", .verificationCode, [.account, .numberSuppression]),
                InventoryColumn("expires_at", .activityTime, [.account, .numberSuppression]),
                InventoryColumn("consumed", .verificationCode, [.account, .numberSuppression]),
                InventoryColumn("created_at", .activityTime, [.account, .numberSuppression]),
                InventoryColumn("kind", .verificationCode, [.account, .numberSuppression]),
                InventoryColumn("user_id", .userIdentifier, account),
            ]
        ),
        InventoryTable(
            "sessions",
            subjects: [SubjectColumn("user_id")],
            retention: .untilExpiry(column: "expires_at", unit: .milliseconds),
            columns: [
                InventoryColumn(
                    "token_hash",
                    .session,
                    account,
                    export: .notExported("the hash of a secret; the session's times are exported")
                ),
                InventoryColumn("user_id", .userIdentifier, account),
                InventoryColumn("created_at", .activityTime, account),
                InventoryColumn("expires_at", .activityTime, account),
            ]
        ),
        InventoryTable(
            "session_revocations",
            subjects: [SubjectColumn("user_id")],
            retention: .window(seconds: 3_600, after: "revoked_at", unit: .milliseconds),
            export: .notExported("a signal between server nodes that a session ended, kept an hour"),
            note: "Every node's session cache reads the last seconds of it (issue 12).",
            columns: [
                InventoryColumn("token_hash", .session, account),
                InventoryColumn("user_id", .userIdentifier, account),
                InventoryColumn("revoked_at", .activityTime, account),
            ]
        ),
        InventoryTable(
            "subject_keys",
            subjects: [SubjectColumn("user_id", export: .notExported("a key, not information about the person"))],
            retention: .whileAccountExists,
            export: .notExported("a key, not information about the person"),
            erase: .destroySubjectKey,
            note: "Destroying the key unlinks the person's log entries while the chain still verifies.",
            columns: [
                InventoryColumn("user_id", .userIdentifier, [.securityLog]),
                InventoryColumn("key_cipher", .subjectKey, [.securityLog]),
                InventoryColumn("created_at", .activityTime, [.securityLog]),
            ]
        ),
        InventoryTable(
            "consents",
            subjects: [SubjectColumn("user_id")],
            retention: .whileAccountExists,
            note: "Each grant and withdrawal is also inside its chained log entry (ACC-11), kept 3 years there.",
            columns: [
                "id", "user_id", "purpose", "notice_version", "locale", "text_sha256", "initial_state", "channel",
                "granted_at", "withdrawn_at", "evidence", "withdrawal_evidence", "log_seq",
            ].map { InventoryColumn($0, $0 == "user_id" ? .userIdentifier : .consentEvidence, [.securityLog]) }
        ),
        InventoryTable(
            "processing_log",
            subjects: [SubjectColumn("subject_ref", .pseudonym)],
            retention: .years(3),
            erase: .destroySubjectKey,
            note: "Append-only and hash-chained (SEC-01: at least 180 days; ACC-11: 3 years); never swept.",
            columns: [
                InventoryColumn("seq", .processingLog, [.securityLog]),
                InventoryColumn("at", .processingLog, [.securityLog]),
                InventoryColumn("subject_ref", .pseudonym, [.securityLog]),
                InventoryColumn("purpose", .processingLog, [.securityLog]),
                InventoryColumn("entry", .processingLog, [.securityLog]),
            ]
        ),
        .technical(
            "log_state",
            note: "The processing log's signed tree head: sizes and hashes.",
            columns: ["id", "size", "frontier", "root", "signature"]
        ),
        .technical(
            "log_checkpoints",
            note: "Signed tree heads every 1,024 entries: sizes, hashes and times.",
            columns: ["tree_size", "root", "signature", "at"]
        ),
        InventoryTable(
            "rate_buckets",
            subjects: [
                SubjectColumn(
                    "bucket",
                    .user,
                    export: .notExported("a counter of the last minutes or days; it expires by itself")
                )
            ],
            retention: .window(seconds: BucketWindow.longest, after: "updated_at", unit: .seconds),
            export: .notExported("a counter of the last minutes or days; it expires by itself"),
            erase: .deleteRows,
            note: "Every key names a limited operation and what it counts; no key holds a number or an address.",
            columns: [
                InventoryColumn(
                    "bucket",
                    .usageCounter,
                    [.abusePrevention],
                    keys: [
                        KeyPattern(
                            "otp-number:",
                            "<blind index of the phone number>",
                            category: .phoneNumberKeyedHash,
                            subject: .numberHolder,
                            purposes: [.abusePrevention],
                            // No longer written (the number's limits read `code_sends`, issue 15); declared so
                            // that buckets written before are swept, 36 minutes after their last use.
                            retention: .window(seconds: 2_160, after: "updated_at", unit: .seconds),
                            export: .notExported("gone within the hour"),
                            identity: .phoneIndex
                        ),
                        bucket("otp-ip:", ip: BucketWindow.codesPerAddress),
                        bucket("otp-network:", ip: BucketWindow.codesPerNetwork),
                        bucket("verify-ip:", ip: BucketWindow.verifyPerAddress),
                        bucket("discovery-ip:", ip: BucketWindow.discoveryPerAddress),
                        KeyPattern(
                            "discovery:",
                            "<user id>",
                            category: .userIdentifier,
                            subject: .user,
                            purposes: [.abusePrevention, .contactDiscovery],
                            retention: .window(
                                seconds: BucketWindow.discoveryQuota,
                                after: "updated_at",
                                unit: .seconds
                            ),
                            export: .toSubject,
                            identity: .userID
                        ),
                        KeyPattern(
                            "lock-guesses:",
                            "<keyed hash of the user id>",
                            category: .userIdentifier,
                            subject: .user,
                            purposes: [.abusePrevention],
                            retention: .window(
                                seconds: BucketWindow.lockGuesses,
                                after: "updated_at",
                                unit: .seconds
                            ),
                            export: .notExported("a counter of the last day; it expires by itself"),
                            identity: .keyedUserID(context: "lock-guesses")
                        ),
                        KeyPattern(
                            "reads:",
                            "<user id>",
                            category: .userIdentifier,
                            subject: .user,
                            purposes: [.abusePrevention],
                            retention: .window(
                                seconds: BucketWindow.reads,
                                after: "updated_at",
                                unit: .seconds
                            ),
                            export: .notExported("a counter of the last minutes; it expires by itself"),
                            identity: .userID
                        ),
                        KeyPattern(
                            "connection-requests:",
                            "<user id>",
                            category: .userIdentifier,
                            subject: .user,
                            purposes: [.abusePrevention],
                            retention: .window(
                                seconds: BucketWindow.connectionRequests,
                                after: "updated_at",
                                unit: .seconds
                            ),
                            export: .notExported("a counter of the last day; it expires by itself"),
                            identity: .userID
                        ),
                        KeyPattern(
                            "invitations:",
                            "<user id>",
                            category: .userIdentifier,
                            subject: .user,
                            purposes: [.abusePrevention, .invitations],
                            retention: .window(seconds: BucketWindow.invitations, after: "updated_at", unit: .seconds),
                            export: .notExported("a counter of the last day; it expires by itself"),
                            identity: .userID
                        ),
                        KeyPattern(
                            "data-requests:",
                            "<user id>",
                            category: .userIdentifier,
                            subject: .user,
                            purposes: [.abusePrevention],
                            retention: .window(seconds: BucketWindow.dataRequests, after: "updated_at", unit: .seconds),
                            export: .notExported("a counter of the last day; it expires by itself"),
                            identity: .userID
                        ),
                    ]
                ),
                InventoryColumn("tokens", .usageCounter, [.abusePrevention]),
                InventoryColumn("updated_at", .activityTime, [.abusePrevention]),
            ]
        ),
        InventoryTable(
            "contact_edges",
            subjects: [
                SubjectColumn("owner_id"),
                SubjectColumn("contact_id", .contact, export: .factOnlyNeverSource),
            ],
            retention: .untilConsentWithdrawn(.contactDiscovery),
            note: "CON-00: an uploaded address-book entry is personal information of the contact, not only of the "
                + "uploader; only entries that matched a discoverable account are kept, as this edge.",
            columns: [
                InventoryColumn("owner_id", .uploadedContact, addressBook),
                InventoryColumn("contact_id", .uploadedContact, addressBook),
                InventoryColumn("created_at", .uploadedContact, addressBook),
            ]
        ),
        InventoryTable(
            "number_suppressions",
            subjects: [
                SubjectColumn(
                    "phone_index",
                    .numberHolder,
                    export: .notExported("the holder has no account; proving the number again shows the opt-out")
                )
            ],
            retention: .untilLifted,
            export: .notExported("the holder has no account; proving the number again shows the opt-out"),
            erase: .keepAsObjection,
            note: "CON-08: a non-user's 'never match or contact this number'; only the keyed hash is kept.",
            columns: [
                InventoryColumn("phone_index", .phoneNumberKeyedHash, [.numberSuppression]),
                InventoryColumn("created_at", .activityTime, [.numberSuppression]),
                InventoryColumn("evidence", .evidenceReference, [.numberSuppression, .securityLog]),
            ]
        ),
        InventoryTable(
            "code_sends",
            subjects: [
                SubjectColumn(
                    "phone_index",
                    .numberHolder,
                    export: .notExported("a counter of the codes of the last day; it expires by itself")
                )
            ],
            retention: .window(seconds: Int64(CodeSendingPolicy.memorySeconds), after: "sent_at", unit: .milliseconds),
            export: .notExported("a counter of the codes of the last day; it expires by itself"),
            erase: .deleteRows,
            note: "GEN-08: the codes sent in the last day, for the per-number limits and the pumping guard; the "
                + "number, its range and the asker's network only as keyed hashes.",
            columns: [
                InventoryColumn("phone_index", .phoneNumberKeyedHash, [.abusePrevention]),
                InventoryColumn("range_key", .phoneNumberKeyedHash, [.abusePrevention]),
                InventoryColumn("network_key", .clientAddressKeyedHash, [.abusePrevention]),
                InventoryColumn("kind", .usageCounter, [.abusePrevention]),
                InventoryColumn("sent_at", .activityTime, [.abusePrevention]),
            ]
        ),
        InventoryTable(
            "read_subjects",
            subjects: [
                SubjectColumn("reader_id", export: .notExported("a count of the last hour; it expires by itself")),
                SubjectColumn(
                    "subject_id",
                    .user,
                    export: .notExported("who read whom is the reader's, kept two hours to stop scraping")
                ),
            ],
            retention: .window(seconds: 7_200, after: "read_at", unit: .milliseconds),
            export: .notExported("a count of the last hour; it expires by itself"),
            erase: .deleteRows,
            note: "GEN-05: the different people each person read in each hour, for the bulk-read detector.",
            columns: [
                InventoryColumn("reader_id", .userIdentifier, [.abusePrevention]),
                InventoryColumn("subject_id", .userIdentifier, [.abusePrevention]),
                InventoryColumn("hour", .activityTime, [.abusePrevention]),
                InventoryColumn("read_at", .activityTime, [.abusePrevention]),
            ]
        ),
        InventoryTable(
            "read_blocks",
            subjects: [SubjectColumn("user_id")],
            retention: .untilExpiry(column: "blocked_until", unit: .milliseconds),
            note: "GEN-05: people whose reads the bulk-read detector stopped, until when.",
            columns: [
                InventoryColumn("user_id", .userIdentifier, [.abusePrevention]),
                InventoryColumn("blocked_until", .activityTime, [.abusePrevention]),
            ]
        ),
        InventoryTable(
            "code_range_blocks",
            subjects: [],
            retention: .untilExpiry(column: "blocked_until", unit: .milliseconds),
            export: .notExported("not personal data"),
            erase: .nothingToErase,
            note: "GEN-08: number ranges the pumping guard stopped codes to, as keyed hashes of 10,000 numbers "
                + "and more (no one's number); kept until the block ends.",
            columns: [.technical("range_key"), .technical("blocked_until"), .technical("created_at")]
        ),
        InventoryTable(
            "outbound_messages",
            subjects: [SubjectColumn("subject_id")],
            retention: .window(seconds: messageRecordWindow, after: "created_at", unit: .milliseconds),
            note: "MSG-04: one record per message, bound to the logged act that authorised it; no number, no text.",
            columns: [
                InventoryColumn(
                    "id",
                    .messageRecord,
                    [.account, .numberSuppression, .invitations, .marketing, .securityLog]
                ),
                InventoryColumn(
                    "kind",
                    .messageRecord,
                    [.account, .numberSuppression, .invitations, .marketing, .securityLog]
                ),
                InventoryColumn(
                    "purpose",
                    .messageRecord,
                    [.account, .numberSuppression, .invitations, .marketing, .securityLog]
                ),
                InventoryColumn(
                    "body_digest",
                    .messageRecord,
                    [.account, .numberSuppression, .invitations, .marketing, .securityLog]
                ),
                InventoryColumn("log_seq", .evidenceReference, [.securityLog]),
                InventoryColumn("subject_id", .userIdentifier, [.account, .invitations, .marketing, .securityLog]),
                InventoryColumn(
                    "created_at",
                    .activityTime,
                    [.account, .numberSuppression, .invitations, .marketing, .securityLog]
                ),
                InventoryColumn(
                    "sent_at",
                    .activityTime,
                    [.account, .numberSuppression, .invitations, .marketing, .securityLog]
                ),
            ]
        ),
        InventoryTable(
            "message_recipients",
            subjects: [
                SubjectColumn(
                    "recipient_index",
                    .numberHolder,
                    export: .notExported("gone when the message is sent, or within the hour")
                )
            ],
            retention: .untilExpiry(column: "expires_at", unit: .milliseconds),
            export: .notExported("gone when the message is sent, or within the hour"),
            erase: .deleteRows,
            note: "MSG-04: whom an authorised message may go to, until it is sent; the number may be a stranger's.",
            columns: [
                InventoryColumn(
                    "message_id",
                    .messageRecord,
                    [.account, .numberSuppression, .invitations, .marketing]
                ),
                InventoryColumn(
                    "recipient_index",
                    .phoneNumberKeyedHash,
                    [.account, .numberSuppression, .invitations, .marketing]
                ),
                InventoryColumn("expires_at", .activityTime, [.account, .numberSuppression, .invitations, .marketing]),
            ]
        ),
        InventoryTable(
            "operators",
            subjects: [
                SubjectColumn(
                    "name",
                    .staff,
                    export: .notExported("staff data, not a user's: kept for the accountability of their acts")
                )
            ],
            retention: .untilLifted,
            export: .notExported("staff data, not a user's: kept for the accountability of their acts"),
            erase: .keepAsLegalEvidence,
            note: "SEC-02: operators sign in apart from users; the token is kept only as its hash.",
            columns: [
                InventoryColumn("name", .operatorIdentity, [.securityLog]),
                InventoryColumn("secret_hash", .operatorIdentity, [.securityLog]),
                InventoryColumn("created_at", .activityTime, [.securityLog]),
                InventoryColumn("evidence", .evidenceReference, [.securityLog]),
            ]
        ),
        InventoryTable(
            "discovery_tokens",
            subjects: [SubjectColumn("user_id")],
            retention: .window(seconds: recheckTokenWindow, after: "created_at", unit: .milliseconds),
            note: "CON-00: derived from the uploaded numbers (a hash over their keyed hashes, and their count).",
            columns: [
                InventoryColumn("user_id", .userIdentifier, [.contactDiscovery]),
                InventoryColumn(
                    "token_hash",
                    .uploadedNumbersDerived,
                    [.contactDiscovery],
                    export: .notExported("the hash of a token that proves a set to the store; it tells no one anything")
                ),
                InventoryColumn("number_count", .uploadedNumbersDerived, [.contactDiscovery]),
                InventoryColumn("created_at", .activityTime, [.contactDiscovery]),
            ]
        ),
        InventoryTable(
            "profiles",
            subjects: [SubjectColumn("user_id")],
            retention: .whileAccountExists,
            columns: [
                InventoryColumn("user_id", .userIdentifier, network),
                InventoryColumn("display_name", .profile, networkAndSuggestions),
                InventoryColumn("headline", .profile, network),
                InventoryColumn("employer", .profile, networkAndSuggestions),
                InventoryColumn("school", .profile, networkAndSuggestions),
                // MSG-08: the one profile field a marketing audience may select by, with its own consent.
                InventoryColumn("city", .profile, network + [.personalisedMarketing]),
                InventoryColumn("avatar_url", .profile, network),
                InventoryColumn("audiences", .privacySettings, network),
                InventoryColumn(
                    "employer_key",
                    .profile,
                    networkAndSuggestions,
                    export: .notExported("a normalised copy of the employer, which is exported")
                ),
                InventoryColumn("employer_public", .privacySettings, networkAndSuggestions),
                InventoryColumn(
                    "school_key",
                    .profile,
                    networkAndSuggestions,
                    export: .notExported("a normalised copy of the school, which is exported")
                ),
                InventoryColumn("school_public", .privacySettings, networkAndSuggestions),
                InventoryColumn("hide_connections", .privacySettings, networkAndSuggestions),
                InventoryColumn("suggestable", .privacySettings, networkAndSuggestions),
                InventoryColumn("updated_at", .activityTime, network),
            ]
        ),
        InventoryTable(
            "connections",
            subjects: [SubjectColumn("user_id"), SubjectColumn("peer_id")],
            retention: .whileAccountExists,
            columns: [
                InventoryColumn("user_id", .relationship, networkAndSuggestions),
                InventoryColumn("peer_id", .relationship, networkAndSuggestions),
                InventoryColumn("created_at", .relationship, network),
            ]
        ),
        InventoryTable(
            "connection_requests",
            subjects: [SubjectColumn("from_id"), SubjectColumn("to_id")],
            retention: .whileAccountExists,
            columns: ["id", "from_id", "to_id", "created_at"].map { InventoryColumn($0, .relationship, network) } + [
                // Declined, or cancelled by a block: the other person's answer is theirs to tell (PYM-04).
                InventoryColumn(
                    "status",
                    .relationship,
                    network,
                    export: .notExported("how the other person answered, or that they blocked, is theirs to tell")
                ),
                InventoryColumn(
                    "responded_at",
                    .relationship,
                    network,
                    export: .notExported("how the other person answered, or that they blocked, is theirs to tell")
                ),
            ]
        ),
        InventoryTable(
            "blocks",
            subjects: [
                SubjectColumn("user_id"),
                SubjectColumn(
                    "blocked_id",
                    export: .notExported("telling a person who blocked them would defeat the block")
                ),
            ],
            retention: .whileAccountExists,
            columns: ["user_id", "blocked_id", "created_at"].map { InventoryColumn($0, .relationship, network) }
        ),
        InventoryTable(
            "endorsements",
            subjects: [SubjectColumn("endorser_id"), SubjectColumn("endorsee_id")],
            retention: .whileAccountExists,
            columns: ["id", "endorser_id", "endorsee_id", "tag", "created_at"].map {
                InventoryColumn($0, .endorsement, network)
            } + [
                InventoryColumn(
                    "hidden",
                    .endorsement,
                    network,
                    export: .notExported("whether the endorsed person hid it is their choice, shown in their app")
                )
            ]
        ),
        InventoryTable(
            "suggestion_dismissals",
            subjects: [
                SubjectColumn("user_id"),
                SubjectColumn("dismissed_id", export: .notExported("a private choice of the person who dismissed")),
            ],
            retention: .whileAccountExists,
            columns: ["user_id", "dismissed_id", "created_at"].map {
                InventoryColumn($0, .relationship, [.personalisedSuggestions])
            }
        ),
        InventoryTable(
            "graph_changes",
            subjects: [SubjectColumn("user_id"), SubjectColumn("peer_id")],
            retention: .window(seconds: graphChangeWindow, after: "at", unit: .milliseconds),
            export: .notExported("a copy of connection changes for other server nodes, kept an hour"),
            note: "Every node's graph replica tails it; the connection itself is in `connections`.",
            columns: ["at", "user_id", "peer_id"].map { InventoryColumn($0, .relationship, networkAndSuggestions) }
        ),
        InventoryTable(
            "account_deletions",
            subjects: [SubjectColumn("user_id")],
            retention: .window(seconds: deletionRecordWindow, after: "requested_at", unit: .milliseconds),
            erase: .anonymise,
            note: "DSR-04, ACC-10: a deletion asked for; once the account is erased the row names no one and keeps "
                + "only its times and how many rows each table lost, for the status the person may still ask.",
            columns: [
                InventoryColumn(
                    "id",
                    .evidenceReference,
                    account,
                    export: .notExported("handed to the person when they asked for the deletion")
                ),
                InventoryColumn("user_id", .userIdentifier, account),
                InventoryColumn("requested_at", .activityTime, account),
                InventoryColumn("erase_after", .activityTime, account),
                InventoryColumn("erased_at", .activityTime, account),
                InventoryColumn("summary", .usageCounter, account),
            ]
        ),
        InventoryTable(
            "erasure_notices",
            subjects: [
                SubjectColumn(
                    "subject_cipher",
                    export: .notExported("written when the account is erased; nobody is left to export it to")
                )
            ],
            retention: .window(seconds: 3_600, after: "at", unit: .milliseconds),
            export: .notExported("written when the account is erased; nobody is left to export it to"),
            erase: .nothingToErase,
            note: "DSR-04: an erased person's ID and number index, encrypted, for an hour: every node reads them "
                + "and forgets the person in its in-memory holders.",
            columns: [
                .technical("at"),
                InventoryColumn("subject_cipher", .userIdentifier, account),
            ]
        ),
        InventoryTable(
            "data_requests",
            subjects: [SubjectColumn("requester_id")],
            retention: .window(seconds: dataRequestWindow, after: "submitted_at", unit: .milliseconds),
            note: "DSR-02, DSR-06..08: a request a person made that needs staff, its deadline and its answer; kept "
                + "three years as the record that it was answered in time.",
            columns: [
                InventoryColumn("id", .evidenceReference, account),
                InventoryColumn("requester_id", .userIdentifier, account),
                InventoryColumn("kind", .dataRequest, account),
                InventoryColumn("text", .dataRequest, account),
                InventoryColumn("submitted_at", .activityTime, account),
                InventoryColumn("due_at", .activityTime, account),
                InventoryColumn("status", .dataRequest, account),
                InventoryColumn("resolved_at", .activityTime, account),
                InventoryColumn(
                    "resolved_by",
                    .operatorIdentity,
                    [.securityLog],
                    export: .notExported("staff data: which operator answered is in the log for accountability")
                ),
                InventoryColumn("reason_code", .dataRequest, account),
                InventoryColumn("resolution", .dataRequest, account),
            ]
        ),
        InventoryTable(
            "invitations",
            subjects: [SubjectColumn("inviter_id")],
            retention: .window(seconds: invitationWindow, after: "created_at", unit: .milliseconds),
            note: "MSG-02, MSG-04: an invitation a user sent to one person after its preview; the recipient is "
                + "not named here, and the text only as its SHA-256.",
            columns: [
                InventoryColumn("id", .invitation, [.invitations]),
                InventoryColumn("inviter_id", .userIdentifier, [.invitations]),
                InventoryColumn("channel", .invitation, [.invitations]),
                InventoryColumn("text_sha256", .invitation, [.invitations]),
                InventoryColumn("link_code", .invitation, [.invitations]),
                InventoryColumn("message_id", .messageRecord, [.invitations]),
                InventoryColumn("created_at", .activityTime, [.invitations]),
                InventoryColumn("evidence", .evidenceReference, [.invitations, .securityLog]),
            ]
        ),
        InventoryTable(
            "invitation_recipients",
            subjects: [
                SubjectColumn(
                    "recipient_index",
                    .numberHolder,
                    export: .notExported("a keyed index of an invited number, for 30 days; it expires by itself")
                )
            ],
            retention: .window(seconds: invitationWindow, after: "invited_at", unit: .milliseconds),
            export: .notExported("a keyed index of an invited number, for 30 days; it expires by itself"),
            erase: .deleteRows,
            note: "MSG-05: that a number was invited in the last 30 days, by anyone, and the link of that "
                + "invitation (its opt-out); only the keyed index of the number.",
            columns: [
                InventoryColumn("recipient_index", .phoneNumberKeyedHash, [.invitations]),
                InventoryColumn("link_code", .invitation, [.invitations]),
                InventoryColumn("invited_at", .activityTime, [.invitations]),
            ]
        ),
        .technical(
            "partners",
            note: "ACC-05: partners that refer people (an offline store); a name and the hash of a token.",
            columns: ["name", "secret_hash", "created_at"]
        ),
        .technical(
            "referral_codes",
            note: "ACC-05: a partner's referral codes and how many accounts each opened: a count, never who.",
            columns: ["code", "partner", "created_at", "signups"]
        ),
        .technical(
            "kith_migrations",
            note: "Which schema migrations were applied, and when.",
            columns: ["id", "applied_at"]
        ),
    ]

    static let kithHolders: [InMemoryHolder] = [
        InMemoryHolder(
            "GraphReplica",
            holds: "the connection graph, and who hides their connections or opted out of suggestions",
            categories: [.relationship, .privacySettings],
            subjects: [.user],
            purposes: networkAndSuggestions,
            retention: .whileProcessRuns,
            rebuiltFrom: ["connections", "profiles", "graph_changes"],
            erase: "the erased person's edges and switches are removed on every node, through erasure_notices"
        ),
        InMemoryHolder(
            "NodeDirectory",
            holds: "user IDs mapped to dense graph node numbers (inside GraphReplica)",
            categories: [.userIdentifier],
            subjects: [.user],
            purposes: networkAndSuggestions,
            retention: .whileProcessRuns,
            rebuiltFrom: ["connections", "profiles"],
            erase: "an erased ID is removed on every node (its node number stays, with no one behind it)"
        ),
        InMemoryHolder(
            "GraphReplica.ranking",
            holds: "a cache of the most-connected node numbers for non-personalised suggestions, 10 seconds",
            categories: [.relationship],
            subjects: [.user],
            purposes: [.socialNetwork],
            retention: .window(seconds: 10, after: "at", unit: .milliseconds),
            rebuiltFrom: ["connections"],
            erase: "recomputed every 10 seconds"
        ),
        InMemoryHolder(
            "ReadThrottle",
            holds: "per reader on this node: the read bucket, the people read this hour, a detector block",
            categories: [.userIdentifier, .usageCounter],
            subjects: [.user],
            purposes: [.abusePrevention],
            retention: .whileProcessRuns,
            rebuiltFrom: ["rate_buckets", "read_subjects", "read_blocks"],
            erase: "an erased reader is forgotten on every node; others' readers idle ten minutes are forgotten"
        ),
        InMemoryHolder(
            "SessionCache",
            holds: "the hashes of session tokens used on this node, with their person and expiry",
            categories: [.session, .userIdentifier],
            subjects: [.user],
            purposes: account,
            retention: .whileProcessRuns,
            rebuiltFrom: ["sessions"],
            erase: "a session ended anywhere leaves every node's cache within a second (session_revocations); an "
                + "erased person's sessions leave it with the erasure notice"
        ),
        InMemoryHolder(
            "DiscoveryIndex",
            holds: "64-bit prefixes of the blind indexes of people who chose to be found by their number",
            categories: [.phoneNumberKeyedHash],
            subjects: [.user],
            purposes: [.discoverableByPhone],
            retention: .whileProcessRuns,
            rebuiltFrom: ["consents", "users"],
            erase: "an erased person's prefix is removed on every node; a withdrawn one lingers until restart, every "
                + "candidate being confirmed against the store"
        ),
        InMemoryHolder(
            "ContactDiscovery.match",
            holds: "the uploaded numbers, normalised and blind-indexed, while one upload is matched",
            categories: [.uploadedNumbersDerived],
            subjects: [.contact],
            purposes: [.contactDiscovery],
            retention: .duringRequest,
            rebuiltFrom: [],
            erase: "forgotten when the request ends (CON-03)"
        ),
    ]
}

extension RateLimit {
    /// Seconds an empty bucket takes to fill to its burst: the longest its row can matter.
    public var secondsUntilFull: Int64 {
        perSecond > 0 ? Int64((burst / perSecond).rounded(.up)) : Int64.max / 2_000
    }
}

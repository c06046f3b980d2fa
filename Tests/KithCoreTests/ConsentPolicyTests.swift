import KithCore
import Testing

@Suite("Consent policy")
struct ConsentPolicyTests {
    let catalogue = PurposeCatalogue.standard

    func evidence(
        _ purpose: PurposeID = .contactDiscovery,
        state: ConsentEvidence.ControlState = .unchecked,
        version: Int? = nil,
        hash: String? = nil
    ) -> ConsentEvidence {
        let text = catalogue.purpose(purpose)?.consentText(.zhCN) ?? ""
        return ConsentEvidence(
            purpose: purpose,
            noticeVersion: version ?? catalogue.current.version,
            locale: .zhCN,
            textSHA256: hash ?? text.sha256Hex,
            initialState: state,
            channel: .ios
        )
    }

    @Test("ACC-02 prechecked control is not consent")
    func precheckedRefused() {
        #expect(throws: KithError.self) { try ConsentPolicy.validate(evidence(state: .checked), in: catalogue) }
        #expect(throws: Never.self) { try ConsentPolicy.validate(evidence(), in: catalogue) }
    }

    @Test("consent evidence must hash the text Kith served (ACC-11)")
    func textHashMustMatch() {
        #expect(throws: KithError.self) {
            try ConsentPolicy.validate(evidence(hash: String(repeating: "0", count: 64)), in: catalogue)
        }
    }

    @Test("purposes with a non-consent basis take no consent (GEN-06)")
    func nonConsentPurpose() {
        #expect(throws: KithError.self) { try ConsentPolicy.validate(evidence(.account), in: catalogue) }
    }

    @Test("ACC-01: every purpose names its basis, categories and retention in both languages")
    func recordOfProcessing() {
        for purpose in catalogue.current.purposes {
            #expect(!purpose.dataCategories.isEmpty)
            #expect(!purpose.retention.zhCN.isEmpty && !purpose.retention.en.isEmpty)
            #expect(!purpose.description.zhCN.isEmpty && !purpose.description.en.isEmpty)
        }
        let text = catalogue.current.text(.en)
        for heading in ["Processor", "Contact", "Purposes", "Legal basis", "Retention", "Your rights"] {
            #expect(text.contains(heading))
        }
    }

    @Test("ACC-06 new purpose needs consent under the new version")
    func bumpRegates() {
        var v2 = PrivacyNotice.version1
        v2.version = 2
        v2.purposes.append(
            Purpose(
                id: "marketing",
                basis: .consent,
                dataCategories: ["phone-number"],
                retentionDays: nil,
                retention: LocalizedText(zhCN: "直至撤回", en: "Until withdrawn"),
                title: LocalizedText(zhCN: "营销短信", en: "Marketing messages"),
                description: LocalizedText(zhCN: "发送活动信息", en: "News about Kith"),
                consentRequiredSince: 2
            )
        )
        let bumped = PurposeCatalogue(notices: [.version1, v2])
        #expect(bumped.consentIsCurrent(for: .contactDiscovery, givenUnder: 1))
        #expect(!bumped.consentIsCurrent(for: "marketing", givenUnder: 1))
        #expect(bumped.consentIsCurrent(for: "marketing", givenUnder: 2))
    }
}

import KithCore
import Testing

@Suite("Scope catalogue (API-02)")
struct ScopeCatalogueTests {
    @Test("API-02 every profile field needs exactly one scope; career and education each have their own")
    func everyFieldHasOneScope() {
        for field in ProfileField.allCases {
            #expect(Scope.allCases.filter { $0.fields.contains(field) } == [field.scope])
        }
        #expect(Scope.profileCareer.fields == [.employer])
        #expect(Scope.profileEducation.fields == [.school])
        #expect(!Scope.profileBasic.fields.contains(.employer) && !Scope.profileBasic.fields.contains(.school))
    }

    @Test("API-02 scopes are spelt as the open platform names them")
    func spelling() {
        #expect(
            Scope.allCases.map(\.rawValue) == [
                "profile.basic", "profile.career", "profile.education", "profile.location", "connections.read",
                "endorsements.read",
            ]
        )
    }

    @Test("API-02 only the scopes both approved for the client and granted by the person count")
    func approvedAndGranted() {
        let app = AppAuthorisation(
            approvedScopes: [.profileBasic, .profileCareer, .connectionsRead],
            grantedScopes: [.profileBasic, .profileEducation, .connectionsRead]
        )
        #expect(app.effectiveScopes == [.profileBasic, .connectionsRead])
        #expect(app.allows(.profileBasic) && !app.allows(.profileCareer) && !app.allows(.profileEducation))
        #expect(app.fields == [.displayName, .headline, .avatarURL])
    }
}

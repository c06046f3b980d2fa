import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import Testing

@testable import KithStore

@Suite("Requests that need a person (DSR-02, DSR-06..08)")
struct DataRequestTests {
    @Test("DSR-02 working days skip weekends and the configured holidays")
    func workingDays() throws {
        let calendar = try #require(WorkingCalendar(dates: ["2027-01-18", "2027-01-19"]))
        // 2027-01-15 is a Friday; Monday and Tuesday are holidays; three working days later is Friday the 22nd.
        let friday = WorkingCalendar.daysSinceEpoch(year: 2027, month: 1, day: 15) * 86_400_000
        #expect(calendar.adding(3, to: friday) == friday + 7 * 86_400_000)
        #expect(WorkingCalendar().adding(3, to: friday) == friday + 5 * 86_400_000)
        #expect(WorkingCalendar(dates: ["2027-13-01"]) == nil)
        #expect(WorkingCalendar.daysSinceEpoch(year: 1970, month: 1, day: 1) == 0)
    }

    @Test(
        "DSR-02 DSR-07 a request has a 15-working-day deadline, shows as overdue past it, and a refusal needs a reason and names the complaint route",
        arguments: Backend.enabled
    )
    func queue(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let ann = try await app.person(1)
            let submitted = try await app.call(
                .post,
                "/v1/me/data-requests",
                token: ann.token,
                json: ["kind": "next-of-kin", "text": "My father, a user, has died; I ask for a copy of his data."]
            )
            #expect(submitted.status == .created, "\(submitted.body)")
            let id = try #require(submitted.string("requestId"))
            let due = try #require(submitted.json["dueAt"] as? Int64)
            #expect(due == DataRequestPolicy().calendar.adding(15, to: clock.millis))
            #expect(submitted.string("status") == "open" && submitted.json["overdue"] as? Bool == false)
            let blank = try await app.call(
                .post,
                "/v1/me/data-requests",
                token: ann.token,
                json: ["kind": "other", "text": "   "]
            )
            #expect(blank.status == .unprocessableContent && blank.json["field"] as? String == "text")

            let credential = try await app.services.operators.create(
                name: "dpo",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            #expect(try await app.services.dataRequests.overdue() == 0)
            clock.advance(seconds: Double(due - clock.millis) / 1000 + 1)
            #expect(try await app.services.dataRequests.overdue() == 1)
            #expect(try await app.call(.get, "/metrics").body.contains("kith_data_requests_overdue 1"))
            let open = try await app.call(.get, "/v1/operator/data-requests?status=open", token: credential.token)
            let listed = try #require((open.json["requests"] as? [[String: Any]])?.first)
            #expect(listed["requestId"] as? String == id && listed["overdue"] as? Bool == true)
            // A person's token is not an operator's.
            #expect(try await app.call(.get, "/v1/operator/data-requests", token: ann.token).status == .forbidden)

            let path = "/v1/operator/data-requests/\(id)/resolution"
            let noReason = try await app.call(
                .post,
                path,
                token: credential.token,
                json: ["outcome": "refused", "text": "No."]
            )
            #expect(noReason.status == .unprocessableContent && noReason.json["field"] as? String == "reasonCode")
            let refused = try await app.call(
                .post,
                path,
                token: credential.token,
                json: [
                    "outcome": "refused", "reasonCode": "identity-not-verified",
                    "text": "We could not confirm you are his next of kin; send the death certificate.",
                ]
            )
            #expect(refused.status == .ok && refused.string("status") == "refused")
            #expect(refused.string("complaintRoute") == DataRequest.complaintRoute)
            let again = try await app.call(
                .post,
                path,
                token: credential.token,
                json: ["outcome": "answered", "text": "Here it is."]
            )
            #expect(again.status == .conflict)
            #expect(try await app.services.dataRequests.overdue() == 0)
            let entry = try #require(
                try await loggedEntries(app.services.store).last { $0.detail.hasPrefix("data request refused") }
            )
            #expect(entry.detail == "data request refused (identity-not-verified), after its deadline")
            #expect(entry.subject == (try await LogCoverageTests.pseudonym(of: ann.id, app)))

            // The person's export holds the request and its answer (DSR-01).
            let (document, _) = try await app.export(ann)
            #expect(document.tables["data_requests"]?.first?["reason_code"] == .text("identity-not-verified"))
        }
    }
}

import Foundation
import Hummingbird
import WeirRuntime

/// The serving API on `weir run`'s HTTP endpoint (docs/serving.md, docs/openapi/serving.yaml):
/// `GET /v1/features/{key}` and `POST /v1/score`, answered by the run loop between batches
/// through a ``ServingMailbox`` (handlers never touch the pipeline).
///
/// Guards, checked in this order before anything is queued: the bearer token when one is set
/// (401, compared in constant time, never logged or echoed), the key length (414 above
/// ``Limits/maxKeyBytes``), the body size (413 above ``Limits/maxBodyBytes``).
public enum ServingRoutes {
    /// Request limits.
    public struct Limits: Sendable, Equatable {
        /// Largest `POST /v1/score` body (default 64 KiB).
        public var maxBodyBytes = 64 * 1024
        /// Longest key in `GET /v1/features/{key}`, in UTF-8 bytes after percent-decoding (default 256).
        public var maxKeyBytes = 256
        public init() {}
    }

    /// What the routes serve from and require.
    public struct Setup: Sendable {
        public var mailbox: ServingMailbox
        /// The bearer token required on `/v1/*` (nil: none). Never logged.
        public var token: String?
        public var limits: Limits
        public init(mailbox: ServingMailbox, token: String? = nil, limits: Limits = Limits()) {
            self.mailbox = mailbox
            self.token = token
            self.limits = limits
        }
    }

    /// Adds the routes to `router`.
    public static func add(to router: Router<BasicRequestContext>, _ setup: Setup) {
        let (mailbox, limits) = (setup.mailbox, setup.limits)
        let expected = setup.token.map { Array("Bearer \($0)".utf8) }
        router.get("v1/features/:key") { request, context -> Response in
            if let refusal = unauthorized(request, expected) { return refusal }
            guard let raw = context.parameters.get("key"), let key = raw.removingPercentEncoding, !key.isEmpty else {
                return reply(.error(400, "invalid_key", reason: "the key is empty or not valid percent-encoded UTF-8"))
            }
            guard key.utf8.count <= limits.maxKeyBytes else {
                return reply(.error(414, "key_too_long", reason: "the key has \(key.utf8.count) bytes; at most \(limits.maxKeyBytes)"))
            }
            switch mailbox.route(key: key) {
            case .local(let p): return reply(await mailbox.submit(.features(key: key, partition: p < 0 ? nil : p)))
            case .elsewhere(let url): return redirect(url + "v1/features/" + raw, request)
            case .unavailable(let reason): return reply(ServingMailbox.unavailable(reason))
            case .refused(let r): return reply(r)
            }
        }
        router.post("v1/score") { request, _ -> Response in
            if let refusal = unauthorized(request, expected) { return refusal }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: limits.maxBodyBytes)
            } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
                return reply(.error(413, "body_too_large", reason: "the event is larger than \(limits.maxBodyBytes) bytes"))
            }
            let event = Array(buffer: body)
            switch mailbox.route(event: event) {
            case .refused(let invalid): return reply(invalid)
            case .local(let p): return reply(await mailbox.submit(.score(event: event, partition: p < 0 ? nil : p)))
            case .elsewhere(let url): return redirect(url + "v1/score", request)
            case .unavailable(let reason): return reply(ServingMailbox.unavailable(reason))
            }
        }
    }

    /// 401 unless `Authorization` is exactly `Bearer <token>` (when a token is required).
    static func unauthorized(_ request: Request, _ expected: [UInt8]?) -> Response? {
        guard let expected else { return nil }
        let given = Array((request.headers[.authorization] ?? "").utf8)
        // Constant time in the token's content (the length is not secret enough to hide).
        var diff = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { diff |= expected[i] ^ (i < given.count ? given[i] : 0) }
        guard diff != 0 else { return nil }
        var r = reply(.error(401, "unauthorized", reason: "a valid bearer token is required"))
        r.headers[.wwwAuthenticate] = #"Bearer realm="weir""#
        return r
    }

    /// 307 to the owning instance (the method and body are kept; the query string too).
    static func redirect(_ location: String, _ request: Request) -> Response {
        let query = request.uri.query.map { "?" + $0 } ?? ""
        var r = reply(.error(307, "elsewhere", reason: "the key is served by another instance"))
        r.headers[.location] = location + query
        return r
    }

    static func reply(_ r: ServingReply) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if r.status == 503 { headers[.retryAfter] = "1" }
        return Response(status: .init(code: r.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
    }
}

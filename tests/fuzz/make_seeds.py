#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (docs/testing.md, Fuzzing).

Seeds are small and real: requests as the contract writes them, suite scenarios, tokens and
signatures made with the targets' fixed keys. Run it again after changing a seed here; the
files are committed, so CI needs no Python. Usage: python3 tests/fuzz/make_seeds.py
"""
import base64
import hashlib
import hmac
import json
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"

# Must match the constants in the targets.
JWT_SECRET = b"fuzz-jwt-secret-0123456789abcdef0123456789"
WEBHOOK_SECRET = b"whsec_fuzz_0123456789abcdef0123456789abcdef"
NOW = 1_760_000_000

SERVICES = ["gateway", "auth", "catalog", "order", "payment", "provider"]


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def http_request(method, target, headers=(), body=None):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    raw = b""
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(raw)}"]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


def selector(service, caller_index):
    return bytes([SERVICES.index(service) + 6 * caller_index])


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header, claims, secret=JWT_SECRET):
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(
        json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def webhook_header(t, body, secret=WEBHOOK_SECRET):
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def http_seeds():
    auth = ["Authorization: Bearer @TOKEN@"]
    event = {"event_id": "evt_1", "type": "payment.succeeded", "payment_id": "pay_1",
             "amount_cents": 1290, "currency": "EUR", "failure_reason": None}
    seeds = {
        # The public door (no credential: the browser).
        "gateway-login": selector("gateway", 0) + http_request(
            "POST", "/api/auth/login", body={"email": "demo@shop.test", "password": "demo-password-1"}),
        "gateway-register": selector("gateway", 0) + http_request(
            "POST", "/api/auth/register", body={"email": "new@shop.test", "password": "long-enough", "name": "N"}),
        "gateway-products": selector("gateway", 0) + http_request(
            "GET", "/api/catalog/products?category=coffee&q=bean&page=1&page_size=20", auth),
        "gateway-product": selector("gateway", 0) + http_request("GET", "/api/catalog/products/p-001", auth),
        "gateway-categories": selector("gateway", 0) + http_request("GET", "/api/catalog/categories", auth),
        "gateway-cart": selector("gateway", 0) + http_request("GET", "/api/cart", auth),
        "gateway-cart-add": selector("gateway", 0) + http_request(
            "POST", "/api/cart/items", auth, {"product_id": "p-002", "quantity": 2}),
        "gateway-cart-patch": selector("gateway", 0) + http_request(
            "PATCH", "/api/cart/items/p-002", auth, {"quantity": 0}),
        "gateway-cart-delete": selector("gateway", 0) + http_request("DELETE", "/api/cart/items/p-002", auth),
        "gateway-checkout": selector("gateway", 0) + http_request(
            "POST", "/api/orders", auth + ["Idempotency-Key: 3f1c9e0a-checkout"]),
        "gateway-orders": selector("gateway", 0) + http_request("GET", "/api/orders", auth),
        "gateway-order": selector("gateway", 0) + http_request("GET", "/api/orders/ord_1", auth),
        "gateway-webhook": selector("gateway", 0) + http_request(
            "POST", "/api/payments/webhook",
            ["Payment-Signature: " + webhook_header(NOW, json.dumps(event).encode())], event),
        "gateway-chunked": selector("gateway", 0) + (
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"),
        "gateway-health": selector("gateway", 0) + http_request("GET", "/health/ready"),
        "gateway-traceparent": selector("gateway", 0) + http_request(
            "GET", "/api/catalog/products", auth + ["traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]),
        # Internal ports, with the caller's credential (the selector's second digit).
        "auth-register": selector("auth", 0) + http_request(
            "POST", "/register", body={"email": "x@y.z", "password": "12345678", "name": "X"}),
        "auth-login": selector("auth", 0) + http_request("POST", "/login", body={"email": "a@b.c", "password": "p"}),
        "catalog-products": selector("catalog", 1) + http_request("GET", "/products?page=2&page_size=5"),
        "catalog-product": selector("catalog", 0) + http_request("GET", "/products/p-064"),
        "order-add": selector("order", 0) + http_request(
            "POST", "/cart/items", ["X-User-Id: u_fuzz"], {"product_id": "p-003", "quantity": 1}),
        "order-checkout": selector("order", 0) + http_request("POST", "/orders", ["X-User-Id: u_fuzz", "Idempotency-Key: k1"]),
        "order-payment-result": selector("order", 1) + http_request(
            "POST", "/internal/orders/ord_1/payment-result", body={"payment_id": "pay_1", "status": "SUCCEEDED", "reason": None}),
        "payment-open": selector("payment", 0) + http_request(
            "POST", "/internal/payments", ["Idempotency-Key: ord_1"], {"order_id": "ord_1", "amount_cents": 1290, "currency": "EUR"}),
        "payment-webhook": selector("payment", 1) + http_request(
            "POST", "/payments/webhook", ["Payment-Signature: t=1,v1=00"], event),
        "provider-intent": selector("provider", 0) + http_request(
            "POST", "/v1/payment_intents", ["Idempotency-Key: pay_1"], {"payment_id": "pay_1", "amount_cents": 1290, "currency": "EUR"}),
        "provider-pay": selector("provider", 1) + http_request("POST", "/pay/pi_1", body={"card_number": "4242424242424242"}),
        "provider-page": selector("provider", 1) + http_request("GET", "/pay/pi_1"),
        "provider-resend": selector("provider", 1) + http_request("POST", "/v1/events/evt_1/resend"),
        "order-wrong-caller": selector("order", 2) + http_request("GET", "/cart", ["X-User-Id: u_fuzz"]),
    }
    for name, data in seeds.items():
        write("http_request", name, data)


def scenario_seeds():
    chosen = ["flow/register-and-login.yaml", "flow/checkout-and-pay.yaml", "flow/browse-catalog.yaml",
              "unhappy/bad-input.yaml", "unhappy/stale-webhook.yaml", "unhappy/price-changed.yaml",
              "resilience/catalog-hangs-breaker-opens.yaml", "resilience/fault-selectors.yaml",
              "resilience/restart-keeps-data.yaml", "architecture/checkout-call-graph.yaml",
              "architecture/trace-context.yaml"]
    for rel in chosen:
        shutil.copyfile(ROOT / "scenarios" / rel, (CORPUS / "scenario_parser").joinpath(rel.replace("/", "-")))


def jsonpath_seeds():
    order = {"order_id": "ord_1", "status": "PAID", "total_cents": 2580, "items": [
        {"product_id": "p-001", "quantity": 2}], "payment": {"payment_id": "pay_1", "status": "SUCCEEDED"},
        "history": [{"status": "PAYMENT_PENDING"}, {"status": "PAID"}]}
    doc = json.dumps(order)
    seeds = {
        "eq": (0, "$.status", "PAID"),
        "gt": (0, "$.total_cents", "{gt: 0, lt: 100000}"),
        "index": (0, "$.items[0].quantity", "{in: [1, 2, 3]}"),
        "negative-index": (0, "$.history[-1]['status']", "{matches: '^PA.+$'}"),
        "bracket": (0, "$[\"payment\"].payment_id", "{type: string, length: {gte: 3}}"),
        "contains": (0, "$.items", "{contains: {product_id: p-001, quantity: 2}}"),
        "exists": (0, "$.missing", "{exists: false}"),
        "template": (0, "$.order_id", "${x.order_id}"),
        "status": (1, "$", "[200, 201]"),
        "header": (2, "$", "{gte: 1, matches: '\\d+'}"),
        "duration": (3, "$", "{lt: 50ms, gte: 1ms}"),
    }
    for name, (domain, path, matcher) in seeds.items():
        write("jsonpath_matcher", name, bytes([domain]) + f"{path}\n{matcher}\n{doc}".encode())


def webhook_seeds():
    body = json.dumps({"event_id": "evt_1", "type": "payment.failed", "payment_id": "pay_1",
                       "amount_cents": 1290, "currency": "EUR", "failure_reason": "card_declined"}).encode()
    good = webhook_header(NOW, body)
    other = webhook_header(NOW, body, b"whsec_old_secret_rotated_away_000000000000")
    seeds = {
        "valid": good,
        "stale": webhook_header(NOW - 301, body),
        "rotation": other + "," + good.split(",")[1],
        "reordered": ",".join(reversed(good.split(","))),
        "unknown-scheme": good + ",v0=deadbeef",
        "forged": f"t={NOW},v1=" + "0" * 64,
        "no-timestamp": good.split(",")[1],
    }
    for name, header in seeds.items():
        write("webhook_signature", name, header.encode() + b"\n" + body)


def jwt_seeds():
    user = {"sub": "u_1", "iss": "shopctl-auth", "aud": "shopctl", "iat": NOW - 10, "exp": NOW + 900, "role": "user"}
    service = {"sub": "svc:order", "iss": "shopctl-internal", "aud": "shopctl-services", "iat": NOW, "exp": NOW + 60}
    hs256 = {"alg": "HS256", "typ": "JWT"}
    seeds = {
        "user": jwt(hs256, user),
        "service": jwt(hs256, service),
        "audience-array": jwt(hs256, dict(user, aud=["other", "shopctl"])),
        "expired": jwt(hs256, dict(user, exp=NOW - 100)),
        "not-before": jwt(hs256, dict(user, nbf=NOW + 100)),
        "alg-none": b64url(b'{"alg":"none","typ":"JWT"}') + "." + b64url(json.dumps(user).encode()) + ".",
        "hs384": jwt({"alg": "HS384", "typ": "JWT"}, user),
        "crit": jwt({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}, user),
        "wrong-key": jwt(hs256, user, b"another-secret-another-secret-another"),
    }
    for name, token in seeds.items():
        write("jwt", name, token)


def config_seeds():
    full = """host: 127.0.0.1
ports: {gateway: 8080, auth: 0, catalog: 0, order: 0, payment: 0, provider: 0}
seed: 42
secrets:
  jwt_secret: "0123456789abcdef0123456789abcdef"
  service_key: "fedcba9876543210fedcba9876543210"
  webhook_secret: whsec_0123456789abcdef0123456789abcdef
  admin_token: adm_0123456789abcdef0123456789abcdef
auth:
  token_ttl: 15m
  password_hashing: fast
  login_throttle: {max_failures: 5, window: 60s}
  demo_user: {enabled: true, email: demo@shop.test, password: demo-password-1}
order:
  catalog_client: {timeout: 1s, retry: {max_attempts: 3, initial_backoff: 50ms, multiplier: 2, max_backoff: 1s, jitter: 0.5}}
  payment_client: {timeout: 2s, retry: {max_attempts: 2}}
  circuit_breakers:
    order->catalog: {sliding_window_type: COUNT_BASED, sliding_window_size: 10, minimum_number_of_calls: 5,
                     failure_rate_threshold: 50, slow_call_duration_threshold: 60s, slow_call_rate_threshold: 100,
                     wait_duration_in_open_state: 30s, permitted_number_of_calls_in_half_open_state: 2,
                     automatic_transition_from_open_to_half_open: false}
payment:
  order_client: {timeout: 2s, retry: {max_attempts: 1}}
  provider_client: {timeout: 2s, retry: {max_attempts: 2}}
  circuit_breakers: {payment->order: {sliding_window_type: TIME_BASED, sliding_window_size: 30}}
  outbox: {initial_backoff: 200ms, max_backoff: 30s}
  webhook_tolerance: 300s
"""
    seeds = {
        "full": full,
        "small": "seed: 7\nauth: {token_ttl: 1h}\n",
        "bad-types": "ports: {gateway: seventy}\nseed: -1\nauth: {token_ttl: soon}\n",
        "unknown-key": "hots: 127.0.0.1\norder: {catalog_clinet: {}}\n",
        "empty": "",
    }
    for name, text in seeds.items():
        write("config_loader", name, text)


if __name__ == "__main__":
    for target in ["http_request", "scenario_parser", "jsonpath_matcher", "webhook_signature", "jwt", "config_loader"]:
        shutil.rmtree(CORPUS / target, ignore_errors=True)
        (CORPUS / target).mkdir(parents=True)
    http_seeds()
    scenario_seeds()
    jsonpath_seeds()
    webhook_seeds()
    jwt_seeds()
    config_seeds()

"""Health endpoints, errors as problem+json, request ids."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from xuyen.migrate import head_revision


def test_healthz_answers_alive(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_readyz_reports_pending_migrations(client: TestClient, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        response = client.get("/readyz")
    finally:  # the PostgreSQL test database is shared by the whole run
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "migrations_pending"
    assert "xuyen migrate" in body["detail"]


def test_unknown_route_is_a_problem_with_a_stable_code(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["request_id"] == response.headers["x-request-id"]


def test_request_id_is_echoed_when_safe_and_replaced_when_not(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["x-request-id"]
    assert replaced != "bad id <script>"
    assert len(replaced) == 32


def test_openapi_is_served(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Xuyên"
    assert client.get("/docs").status_code == 200


def test_a_body_over_the_limit_is_refused_with_413_and_the_limit_named(client: TestClient) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    response = client.post("/api/v1/auth/session", content=b"{" + b" " * limit + b"}",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert f"{limit:,}" in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


def test_a_streamed_body_over_the_limit_is_cut_off_with_413(client: TestClient) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    chunks = (b" " * 65536 for _ in range(limit // 65536 + 2))  # no Content-Length: chunked
    response = client.post("/api/v1/auth/session", content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_an_unexpected_error_is_a_500_problem_without_internals(client: TestClient) -> None:
    @client.app.get("/api/v1/_boom")  # type: ignore[attr-defined]
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = client.get("/api/v1/_boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]

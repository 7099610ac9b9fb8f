from __future__ import annotations

import pytest

from tests.conftest import unreachable_broker


def test_healthz_answers_while_the_process_is_up(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_200_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client):
    with unreachable_broker():
        response = client.get("/readyz")
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["broker"]


def test_unknown_api_paths_answer_json_404(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"

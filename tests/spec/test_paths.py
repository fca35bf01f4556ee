"""Request paths that need percent-encoding reach the parser encoded exactly once."""

import httpx

from support.assertions import assert_json


def test_encoded_relation_name(client: httpx.Client) -> None:
    # "ünï 100%": UTF-8 letters, a space and a literal "%" (which must not be decoded twice).
    response = client.get("/%C3%BCn%C3%AF%20100%25?id=eq.2")
    assert_json(response, [{"id": 2, "label": "two"}])


def test_unknown_encoded_relation_is_a_404(client: httpx.Client) -> None:
    response = client.get("/%C3%BCn%C3%AF%20100")
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST205"

"""Table-valued function results read like a table: select, filters, logic, order, windows, counts, media."""

import httpx

from support.assertions import assert_json, ids


def test_select_columns(client: httpx.Client) -> None:
    assert_json(
        client.get("/rpc/books_by?author=2&select=title"), [{"title": "Solaris"}, {"title": "The Cyberiad"}]
    )


def test_filters_may_use_unselected_columns(client: httpx.Client) -> None:
    response = client.get("/rpc/all_books?select=title&published=gt.1970&order=id")
    assert_json(response, [{"title": "The Dispossessed"}, {"title": "Kindred"}])


def test_filters_on_post_calls(client: httpx.Client) -> None:
    assert ids(client.post("/rpc/books_by?id=eq.4", json={"author": 2})) == [4]


def test_logic_trees(client: httpx.Client) -> None:
    assert ids(client.get("/rpc/all_books?or=(id.eq.1,id.eq.5)&order=id")) == [1, 5]
    assert ids(client.get("/rpc/all_books?not.and=(id.gt.1,id.lt.6)&order=id")) == [1, 6]


def test_order_limit_offset(client: httpx.Client) -> None:
    response = client.get("/rpc/all_books?order=published.desc&limit=2&offset=1")
    assert ids(response) == [2, 1]


def test_range_header_and_count(client: httpx.Client) -> None:
    response = client.get("/rpc/all_books?order=id", headers={"Range": "0-1", "Prefer": "count=exact"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "0-1/6"
    assert response.headers["preference-applied"] == "count=exact"
    assert ids(response, status=206) == [1, 2]


def test_planned_count(client: httpx.Client) -> None:
    response = client.get("/rpc/all_books?limit=1", headers={"Prefer": "count=planned"})
    assert response.status_code in (200, 206)
    total = response.headers["content-range"].split("/")[1]
    assert total.isdigit()


def test_setof_scalar_window(client: httpx.Client) -> None:
    response = client.get("/rpc/int_series?n=10&limit=3&offset=2", headers={"Prefer": "count=exact"})
    assert response.status_code == 206
    assert response.json() == [3, 4, 5]
    assert response.headers["content-range"] == "2-4/10"


def test_singular_object(client: httpx.Client) -> None:
    response = client.get("/rpc/books_by?author=3", headers={"Accept": "application/vnd.pgrst.object+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.pgrst.object+json; charset=utf-8"
    assert response.json()["title"] == "Kindred"


def test_singular_scalar(client: httpx.Client) -> None:
    response = client.get("/rpc/add?a=1", headers={"Accept": "application/vnd.pgrst.object+json"})
    assert response.status_code == 200
    assert response.json() == 11


def test_singular_with_many_rows_fails(client: httpx.Client) -> None:
    response = client.get("/rpc/books_by?author=1", headers={"Accept": "application/vnd.pgrst.object+json"})
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST116"
    assert response.json()["details"] == "The result contains 2 rows"


def test_csv(client: httpx.Client) -> None:
    response = client.get("/rpc/books_by?author=2&select=id,title", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    # Record text output, as PostgREST's CSV: fields with spaces are quoted.
    assert response.text == 'id,title\n3,Solaris\n4,"The Cyberiad"'


def test_nulls_stripped(client: httpx.Client) -> None:
    response = client.get(
        "/rpc/all_books?id=eq.6&select=id,author_id",
        headers={"Accept": "application/vnd.pgrst.array+json;nulls=stripped"},
    )
    assert response.json() == [{"id": 6}]


def test_embedding_on_table_rows(client: httpx.Client) -> None:
    response = client.get("/rpc/books_by?author=2&select=title,authors(name)&order=id")
    assert_json(
        response,
        [
            {"title": "Solaris", "authors": {"name": "Stanisław Lem"}},
            {"title": "The Cyberiad", "authors": {"name": "Stanisław Lem"}},
        ],
    )


def test_to_many_embedding_on_table_rows(client: httpx.Client) -> None:
    response = client.get("/rpc/books_by?author=2&select=id,tags(name)&order=id")
    assert_json(
        response,
        [
            {"id": 3, "tags": [{"name": "classic"}, {"name": "sci-fi"}]},
            {"id": 4, "tags": [{"name": "satire"}]},
        ],
    )


def test_filters_on_returns_table_columns(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/book_titles?book_id=eq.3"), [{"book_id": 3, "title": "Solaris"}])

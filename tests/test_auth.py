"""Registration, login, token lifecycle, profile and API tokens through the GraphQL schema."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support import PASSWORD, GraphQLClient

ME = "{ me { id email name baseCurrency timeZone } }"
LOGIN = """mutation($email: String!, $password: String!) { authLogin(input: {email: $email, password: $password}) {
  accessToken refreshToken expiresAt user { id } errors { field message code } } }"""
REFRESH = """mutation($t: String!) { authRefresh(input: {refreshToken: $t}) { accessToken refreshToken errors { code } } }"""


async def test_register_then_me(gql: GraphQLClient) -> None:
    # given / when
    user = await gql.register("Ada@Example.com", name="Ada", baseCurrency="usd", timeZone="America/New_York")
    # then
    me = (await gql(ME, token=user["token"])).ok()["me"]
    assert me["email"] == "ada@example.com"
    assert me["name"] == "Ada"
    assert me["baseCurrency"] == "USD"
    assert me["timeZone"] == "America/New_York"
    assert me["id"] == user["user_id"]


async def test_register_rejects_bad_input_and_writes_nothing(gql: GraphQLClient, resources) -> None:
    # given
    await gql.register("taken@example.com")
    cases = [
        ({"email": "", "password": PASSWORD}, [("email", "REQUIRED")]),
        ({"email": "not-an-email", "password": PASSWORD}, [("email", "INVALID")]),
        ({"email": "short@example.com", "password": "short"}, [("password", "INVALID")]),
        ({"email": "TAKEN@example.com", "password": PASSWORD}, [("email", "CONFLICT")]),
        ({"email": "x@example.com", "password": PASSWORD, "baseCurrency": "XYZ"}, [("baseCurrency", "INVALID_CURRENCY")]),
        ({"email": "", "password": "", "timeZone": "Mars/Base"},
         [("email", "REQUIRED"), ("password", "REQUIRED"), ("timeZone", "INVALID")]),
    ]
    for given, expected in cases:
        # when
        result = await gql("""mutation($input: AuthRegisterInput!) { authRegister(input: $input) {
            accessToken user { id } errors { field code } } }""", {"input": given})
        # then
        payload = result.ok()["authRegister"]
        assert payload["accessToken"] is None and payload["user"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, given
    async with resources.sessionmaker() as session:
        assert (await session.execute(sa.text("select count(*) from users"))).scalar_one() == 1


async def test_login_same_answer_for_unknown_email_and_wrong_password(gql: GraphQLClient) -> None:
    user = await gql.register()
    wrong = (await gql(LOGIN, {"email": user["email"], "password": "wrong password!"})).ok()["authLogin"]
    unknown = (await gql(LOGIN, {"email": "nobody@example.com", "password": PASSWORD})).ok()["authLogin"]
    assert wrong == unknown
    assert wrong["errors"] == [{"field": None, "message": "Email or password is wrong", "code": "INVALID_CREDENTIALS"}]
    ok = (await gql(LOGIN, {"email": user["email"].upper(), "password": PASSWORD})).ok()["authLogin"]
    assert ok["errors"] == [] and ok["accessToken"]


async def test_me_requires_a_valid_token(gql: GraphQLClient) -> None:
    assert (await gql(ME)).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token="garbage")).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token="flo_notarealtoken")).codes == ["UNAUTHENTICATED"]


async def test_expired_access_token_is_refused(gql: GraphQLClient, resources) -> None:
    import datetime as dt
    import uuid

    from app.auth.tokens import issue_access_token

    user = await gql.register()
    me = (await gql(ME, token=user["token"])).ok()["me"]
    from app.graphql.node import from_global_id

    user_id = from_global_id(me["id"])[1]
    token, _ = issue_access_token(resources.settings.secret_key.get_secret_value(), user_id=user_id,
                                  family_id=uuid.uuid4(), token_version=0, ttl_seconds=60,
                                  now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    assert (await gql(ME, token=token)).codes == ["UNAUTHENTICATED"]


async def test_refresh_rotates_and_reuse_revokes_the_family(gql: GraphQLClient) -> None:
    # given
    user = await gql.register()
    # when: a normal rotation
    first = (await gql(REFRESH, {"t": user["refresh"]})).ok()["authRefresh"]
    # then
    assert first["refreshToken"] != user["refresh"]
    assert (await gql(ME, token=first["accessToken"])).ok()["me"]["email"] == user["email"]
    # when: the old refresh token is used again (stolen and replayed)
    reused = await gql(REFRESH, {"t": user["refresh"]})
    # then: refused, and the whole family is signed out, including the newest tokens
    assert reused.codes == ["UNAUTHENTICATED"]
    assert (await gql(REFRESH, {"t": first["refreshToken"]})).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token=first["accessToken"])).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token=user["token"])).codes == ["UNAUTHENTICATED"]
    assert (await gql(REFRESH, {"t": "not-a-token"})).codes == ["UNAUTHENTICATED"]


async def test_logout_revokes_access_and_refresh_but_not_other_sessions(gql: GraphQLClient) -> None:
    user = await gql.register()
    other = (await gql(LOGIN, {"email": user["email"], "password": PASSWORD})).ok()["authLogin"]
    out = await gql("mutation { authLogout { ok errors { code } } }", token=user["token"])
    assert out.ok()["authLogout"] == {"ok": True, "errors": []}
    assert (await gql(ME, token=user["token"])).codes == ["UNAUTHENTICATED"]
    assert (await gql(REFRESH, {"t": user["refresh"]})).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token=other["accessToken"])).ok()["me"]["email"] == user["email"]


async def test_password_change_invalidates_old_tokens(gql: GraphQLClient) -> None:
    user = await gql.register()
    change = """mutation($c: String!, $n: String!) { authPasswordChange(input: {currentPassword: $c, newPassword: $n}) {
      accessToken refreshToken errors { field code } } }"""
    wrong = (await gql(change, {"c": "wrong password", "n": "a brand new password"}, token=user["token"])).ok()
    assert wrong["authPasswordChange"]["errors"] == [{"field": "currentPassword", "code": "INVALID_CREDENTIALS"}]
    assert (await gql(ME, token=user["token"])).ok()["me"]  # nothing changed
    short = (await gql(change, {"c": PASSWORD, "n": "short"}, token=user["token"])).ok()
    assert short["authPasswordChange"]["errors"] == [{"field": "newPassword", "code": "INVALID"}]

    done = (await gql(change, {"c": PASSWORD, "n": "a brand new password"}, token=user["token"])).ok()
    new = done["authPasswordChange"]
    assert new["errors"] == []
    assert (await gql(ME, token=user["token"])).codes == ["UNAUTHENTICATED"]
    assert (await gql(REFRESH, {"t": user["refresh"]})).codes == ["UNAUTHENTICATED"]
    assert (await gql(ME, token=new["accessToken"])).ok()["me"]["email"] == user["email"]
    old_login = (await gql(LOGIN, {"email": user["email"], "password": PASSWORD})).ok()["authLogin"]
    assert old_login["errors"][0]["code"] == "INVALID_CREDENTIALS"
    new_login = (await gql(LOGIN, {"email": user["email"], "password": "a brand new password"})).ok()["authLogin"]
    assert new_login["errors"] == []


async def test_me_update_partial_and_validated(gql: GraphQLClient) -> None:
    user = await gql.register(name="Before")
    update = """mutation($input: MeUpdateInput!) { meUpdate(input: $input) {
      user { name baseCurrency timeZone } errors { field code } } }"""
    bad = (await gql(update, {"input": {"baseCurrency": "EURO", "timeZone": "Nowhere/City"}}, token=user["token"])).ok()
    assert bad["meUpdate"]["errors"] == [{"field": "baseCurrency", "code": "INVALID_CURRENCY"},
                                        {"field": "timeZone", "code": "INVALID"}]
    me = (await gql(ME, token=user["token"])).ok()["me"]
    assert (me["name"], me["baseCurrency"], me["timeZone"]) == ("Before", "EUR", "UTC")

    ok = (await gql(update, {"input": {"timeZone": "Asia/Kolkata"}}, token=user["token"])).ok()["meUpdate"]
    assert ok == {"user": {"name": "Before", "baseCurrency": "EUR", "timeZone": "Asia/Kolkata"}, "errors": []}
    cleared = (await gql(update, {"input": {"name": None, "baseCurrency": "inr"}}, token=user["token"])).ok()
    assert cleared["meUpdate"]["user"] == {"name": "", "baseCurrency": "INR", "timeZone": "Asia/Kolkata"}
    null_currency = await gql(update, {"input": {"baseCurrency": None}}, token=user["token"])
    assert null_currency.codes == ["BAD_USER_INPUT"]
    assert (await gql(ME, token=user["token"])).ok()["me"]["baseCurrency"] == "INR"


API_CREATE = """mutation($input: ApiTokenCreateInput!) { apiTokenCreate(input: $input) {
  apiToken { id name scope prefix revokedAt } token errors { field code } } }"""


async def test_read_api_token_can_read_but_not_mutate(gql: GraphQLClient) -> None:
    user = await gql.register()
    created = (await gql(API_CREATE, {"input": {"name": "script", "scope": "READ"}}, token=user["token"])).ok()
    secret = created["apiTokenCreate"]["token"]
    assert secret.startswith("flo_") and created["apiTokenCreate"]["apiToken"]["prefix"] == secret[:10]
    assert (await gql(ME, token=secret)).ok()["me"]["email"] == user["email"]
    refused = await gql(API_CREATE, {"input": {"name": "escalate", "scope": "READ_WRITE"}}, token=secret)
    assert refused.codes == ["FORBIDDEN"]
    listed = (await gql("{ apiTokens { totalCount edges { node { name } } } }", token=user["token"])).ok()
    assert listed["apiTokens"]["totalCount"] == 1  # the refused create wrote nothing


async def test_revoked_api_token_stops_working(gql: GraphQLClient) -> None:
    user = await gql.register()
    created = (await gql(API_CREATE, {"input": {"name": "rw", "scope": "READ_WRITE"}}, token=user["token"])).ok()
    token_id = created["apiTokenCreate"]["apiToken"]["id"]
    secret = created["apiTokenCreate"]["token"]
    revoke = """mutation($id: ID!) { apiTokenRevoke(input: {id: $id}) { apiToken { revokedAt } errors { code } } }"""
    out = (await gql(revoke, {"id": token_id}, token=user["token"])).ok()["apiTokenRevoke"]
    assert out["errors"] == [] and out["apiToken"]["revokedAt"]
    assert (await gql(ME, token=secret)).codes == ["UNAUTHENTICATED"]
    # another user cannot see or revoke it
    other = await gql.register()
    foreign = (await gql(revoke, {"id": token_id}, token=other["token"])).ok()["apiTokenRevoke"]
    assert foreign == {"apiToken": None, "errors": [{"code": "NOT_FOUND"}]}
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": token_id}, token=other["token"])).ok() == {
        "node": None}

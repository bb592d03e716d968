#!/usr/bin/python3
"""Mints the interop fixtures: tokens in Flask-JWT-Extended 4.7's exact layout, signed by PyJWT.

Run with Debian's python3-jwt (PyJWT 2.6), from anywhere:

    /usr/bin/python3 packages/keycard/test/interop/make_fixtures.py

It rewrites fixtures/*.json; each holds the token, its algorithm, the keycard options it needs, and the
header and claims keycard must decode from it. Flask-JWT-Extended builds its claims in
`tokens.py::_encode_jwt` and signs them with `jwt.encode(..., json_encoder=...)`; this script builds the
same dict in the same key order (fresh, iat, jti, type, sub, nbf, csrf, [aud], [iss], exp, then extra
claims) and signs with PyJWT's defaults (compact JSON, sorted header keys). `iat` is in the past and
`exp` in 2100 so the checked-in tokens stay valid. UUIDs are fixed so reruns only change ES256
signatures (ECDSA signing is randomised).
"""

import base64
import json
import os

import jwt

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")
OUT = os.path.join(HERE, "fixtures")

# The HS256 test secret; interop.test.ts uses the same string.
SECRET = "keycard-interop-test-secret-0123456789abcdef"
IAT = 1700000000  # 2023-11-14, in the past
FAR_EXP = 4102444800  # 2100-01-01


def read(name):
    with open(os.path.join(KEYS, name)) as f:
        return f.read()


def fje_claims(identity, token_type, jti, csrf, fresh=False, exp=FAR_EXP, aud=None, iss=None, extra=None):
    """Flask-JWT-Extended 4.7 `_encode_jwt`, with JWT_ENCODE_NBF and JWT_COOKIE_CSRF_PROTECT on (defaults)."""
    claims = {"fresh": fresh, "iat": IAT, "jti": jti, "type": token_type, "sub": identity, "nbf": IAT, "csrf": csrf}
    if aud is not None:
        claims["aud"] = aud
    if iss is not None:
        claims["iss"] = iss
    if exp is not None:
        claims["exp"] = exp
    claims.update(extra or {})
    return claims


def fixture(name, alg, key, claims, headers=None, options=None):
    token = jwt.encode(claims, key, algorithm=alg, headers=headers)
    header = jwt.get_unverified_header(token)
    data = {
        "name": name,
        "alg": alg,
        "madeBy": "PyJWT %s" % jwt.__version__,
        "keycardOptions": options or {},
        "token": token,
        "header": header,
        "claims": claims,
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    print(name, len(token))


def main():
    os.makedirs(OUT, exist_ok=True)
    rsa, ec = read("rsa-private.pem"), read("ec-private.pem")
    uid = lambda n: "00000000-0000-4000-8000-%012d" % n

    fixture("hs256-access", "HS256", SECRET, fje_claims("42", "access", uid(1), uid(2)))
    fixture("hs256-access-fresh", "HS256", SECRET, fje_claims("42", "access", uid(3), uid(4), fresh=True))
    # create_access_token(fresh=timedelta(...)) stores a float "fresh until" epoch.
    fixture("hs256-fresh-float", "HS256", SECRET, fje_claims("42", "access", uid(5), uid(6), fresh=4102444800.149535))
    fixture("hs256-refresh", "HS256", SECRET, fje_claims("42", "refresh", uid(7), uid(8)))
    # JWT_ACCESS_TOKEN_EXPIRES = False: no exp claim at all.
    fixture("hs256-no-exp", "HS256", SECRET, fje_claims("42", "access", uid(9), uid(10), exp=None), options={"accessTokenExpires": False})
    fixture(
        "hs256-extras",
        "HS256",
        SECRET,
        fje_claims("alice@example.com", "access", uid(11), uid(12), aud="api", iss="https://auth.example",
                   extra={"roles": ["admin", "ops"], "tenant": {"id": 7, "name": "Ünïcode ✓"}}),
        headers={"kid": "k1"},
        options={"decodeAudience": "api", "decodeIssuer": "https://auth.example"},
    )
    fixture("rs256-access", "RS256", rsa, fje_claims("42", "access", uid(13), uid(14), fresh=True), options={"publicKeyFile": "rsa-public.pem"})
    fixture("rs256-refresh", "RS256", rsa, fje_claims("42", "refresh", uid(15), uid(16)), options={"publicKeyFile": "rsa-public.pem"})
    fixture("es256-access", "ES256", ec, fje_claims("42", "access", uid(17), uid(18)), options={"publicKeyFile": "ec-public.pem"})
    fixture("es256-refresh", "ES256", ec, fje_claims("42", "refresh", uid(19), uid(20)), options={"publicKeyFile": "ec-public.pem"})



CASES = os.path.join(OUT, "cases")
PAST_EXP = IAT + 60  # expired since 2023


def case(name, claims, expect, headers=None, options=None, request=None, respell=None):
    """A token PyJWT minted plus what FJE answers for it (expect: {"status", "msg"} or {"ok": true})."""
    token = jwt.encode(claims, SECRET, algorithm="HS256", headers=headers)
    if respell is not None:
        token = respell(token)
    data = {
        "name": name,
        "madeBy": "PyJWT %s" % jwt.__version__,
        "keycardOptions": options or {},
        "request": request or {"location": "headers", "method": "GET"},
        "token": token,
        "claims": claims,
        "expect": expect,
    }
    with open(os.path.join(CASES, name + ".json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    print("cases/" + name, len(token))


def standard_alphabet(token):
    head, sig = token.rsplit(".", 1)
    return head + "." + base64.b64encode(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))).decode().rstrip("=")


def unused_bits_set(token):
    """The same signature bytes, the last digit's lowest unused bit set (43 digits: 2 unused bits)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) | 1]


def cases():
    """FJE's answers to tokens failing more than one check, and strict:false's PyJWT leniencies and refusals."""
    os.makedirs(CASES, exist_ok=True)
    uid = lambda n: "00000000-0000-4000-8000-%012d" % (100 + n)
    lax = {"strict": False}

    def expired(n, **changes):
        claims = fje_claims("42", "access", uid(n), uid(n + 50), exp=PAST_EXP)
        for key, value in changes.items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        return claims

    # FJE decodes an expired token a second time without the exp check: what fails there is the answer.
    case("expired", expired(1), {"status": 401, "msg": "Token has expired"})
    case("expired-numeric-sub", expired(2, sub=42), {"status": 422, "msg": "Subject must be a string"})
    case("expired-missing-sub", expired(3, sub=None), {"status": 422, "msg": "Missing claim: sub"})
    case("expired-numeric-jti", expired(4, jti=7), {"status": 422, "msg": "JWT ID must be a string"})
    case("expired-wrong-aud", expired(5, aud="web"), {"status": 422, "msg": "Audience doesn't match"}, options={"decodeAudience": "api"})
    case("expired-wrong-iss", expired(6, iss="https://other.example"), {"status": 422, "msg": "Invalid issuer"}, options={"decodeIssuer": "https://auth.example"})
    case(
        "expired-cookie-wrong-csrf",
        expired(7),
        {"status": 401, "msg": "CSRF double submit tokens do not match"},
        options={"tokenLocation": ["headers", "cookies"]},
        request={"location": "cookies", "method": "POST", "csrf": "not-the-claim"},
    )
    case(
        "expired-cookie-right-csrf",
        expired(8),
        {"status": 401, "msg": "Token has expired"},
        options={"tokenLocation": ["headers", "cookies"]},
        request={"location": "cookies", "method": "POST", "csrf": uid(58)},
    )
    # PyJWT reads time claims with int(): numeric strings pass (strict:false), strict mode refuses them.
    strings = fje_claims("42", "access", uid(9), uid(59))
    strings.update(iat=str(IAT), nbf=" %d " % IAT, exp="4_102_444_800")
    case("lax-string-times", strings, {"ok": True}, options=lax)
    case("strict-string-times", strings, {"status": 422, "msg": "Issued At claim (iat) must be an integer."})
    case("lax-expired-string-exp", dict(expired(10), exp=str(PAST_EXP)), {"status": 401, "msg": "Token has expired"}, options=lax)
    case("lax-word-exp", dict(expired(11), exp="soon"), {"status": 422, "msg": "Expiration Time claim (exp) must be an integer."}, options=lax)
    # Current PyJWT refuses crit extensions it does not implement, and non-canonical signatures.
    # (PyJWT names the extension, "Unsupported critical extension: exp"; keycard never echoes header text.)
    case("lax-crit-unknown", fje_claims("42", "access", uid(12), uid(62)), {"status": 422, "msg": "Unsupported critical extension"},
         headers={"crit": ["exp"], "exp": 1}, options=lax)
    n = 0
    while True:
        claims = fje_claims("42", "access", uid(13), uid(63), extra={"n": n})
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        if standard_alphabet(token) != token:
            break
        n += 1
    case("lax-standard-alphabet-signature", claims, {"status": 422, "msg": "Invalid crypto padding"}, options=lax, respell=standard_alphabet)
    case("lax-unused-bits-signature", fje_claims("42", "access", uid(14), uid(64)), {"status": 422, "msg": "Invalid crypto padding"},
         options=lax, respell=unused_bits_set)
    case("strict-unused-bits-signature", fje_claims("42", "access", uid(15), uid(65)), {"status": 422, "msg": "Invalid crypto padding"},
         respell=unused_bits_set)


if __name__ == "__main__":
    main()
    cases()

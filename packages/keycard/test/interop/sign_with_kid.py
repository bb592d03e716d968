#!/usr/bin/python3
"""Signs tokens with PyJWT under a `kid` header, for jwks-interop.test.ts (tokens of a foreign issuer
whose public key is in a JWKS must verify with `createKeycard({ jwks })`).

stdin: a JSON object {"items": [{"alg", "kid", "key" (a PKCS#8 PEM private key), "claims"}]}.
stdout: a JSON object {"pyjwt": <version>, "tokens": [<compact JWS>, ...]}, in the same order.
"""

import json
import sys

import jwt


def main():
    items = json.load(sys.stdin)["items"]
    tokens = [jwt.encode(item["claims"], item["key"], algorithm=item["alg"], headers={"kid": item["kid"]}) for item in items]
    json.dump({"pyjwt": jwt.__version__, "tokens": tokens}, sys.stdout)


if __name__ == "__main__":
    main()

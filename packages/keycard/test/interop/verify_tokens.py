#!/usr/bin/python3
"""Verifies tokens with PyJWT for interop.test.ts (keycard-minted tokens must verify with PyJWT).

stdin: a JSON list of {"token", "alg", "key", "audience"?, "issuer"?} ("key" is the HS secret or a PEM
public key). stdout: a JSON list, one entry per token: {"ok": true, "header": {...}, "claims": {...}} or
{"ok": false, "error": "<PyJWT exception class>: <message>"}.
"""

import json
import sys

import jwt


def verify(item):
    try:
        kwargs = {"algorithms": [item["alg"]]}
        if item.get("audience") is not None:
            kwargs["audience"] = item["audience"]
        if item.get("issuer") is not None:
            kwargs["issuer"] = item["issuer"]
        claims = jwt.decode(item["token"], item["key"], **kwargs)
        return {"ok": True, "header": jwt.get_unverified_header(item["token"]), "claims": claims}
    except Exception as e:  # report, never crash: the test compares
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


if __name__ == "__main__":
    items = json.load(sys.stdin)
    json.dump({"pyjwt": jwt.__version__, "results": [verify(i) for i in items]}, sys.stdout)

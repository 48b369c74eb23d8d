"""`loyalty-local`: serve the whole API on moto, and print local tokens."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from loyalty_local.stack import LocalStack
    from loyalty_local.streams import Chaos

    chaos = Chaos(failure_rate=args.stream_chaos, redelivery_rate=args.stream_chaos) if args.stream_chaos else None
    stack = LocalStack(host=args.host, port=args.port, seed_demo=not args.no_demo, chaos=chaos,
                       schedule_interval=args.schedule_seconds, connectors_url=args.connectors_url).start()
    print(f"Loyalty API (member, admin and partner) at {stack.url}", flush=True)
    print("Get a token:  .venv/bin/loyalty-local token --sub alice            (a member)", flush=True)
    print("              .venv/bin/loyalty-local token --sub pos --scope loyalty/transactions   (a back end)",
          flush=True)
    print("              .venv/bin/loyalty-local token --sub ops --admin      (an admin)", flush=True)
    print(f"Try:          curl -H \"Authorization: Bearer $TOKEN\" {stack.url}/program", flush=True)
    try:
        stack.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


def _token(args: argparse.Namespace) -> int:
    from loyalty_local import tokens

    print(tokens.issue(args.sub, admin=args.admin, scopes=args.scope or [], ttl_seconds=args.ttl))
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    """Asks the running local stack to reconcile (after its stream has caught up) and prints the result."""
    import json
    import urllib.request

    # The job itself tolerates a lagging stream; a developer asking by hand wants it exact: drain first.
    drain = urllib.request.Request(f"{args.url}/local/stream/drain", method="POST")  # noqa: S310 - local
    urllib.request.urlopen(drain, timeout=120).close()  # noqa: S310 - a local URL the user gives
    request = urllib.request.Request(f"{args.url}/local/jobs/reconcile", method="POST")  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - a local URL the user gives
        result = json.load(response)
    print(f"members: {result['members']}, entries: {result['entries']}, checks: {sum(result['checked'].values())}")
    for found in result["discrepancies"]:
        print(f"DISCREPANCY {found['check']} ({found['subject']}): expected {found['expected']}, "
              f"found {found['actual']}")
    print("clean" if result["clean"] else f"{result['discrepancy_count']} discrepancies")
    return 0 if result["clean"] else 1


def _simulate(args: argparse.Namespace) -> int:
    import json
    import time

    from loyalty_local.simulate import Simulator

    started = time.monotonic()
    result = Simulator(args.url, args.members, args.days, args.seed).run()
    print(json.dumps({**result, "seconds": round(time.monotonic() - started, 1)}))
    print(f"Open {args.url}/dashboard to see the program, {args.url}/docs for the API.")
    return 0


def _import(args: argparse.Namespace) -> int:
    """POST /admin/imports, PUT the file to the URL it answers, and follow the import until it ends."""
    import json
    import time
    import urllib.request
    from pathlib import Path

    from loyalty_local import tokens

    path = Path(args.file)
    file_format = args.format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    headers = {"Authorization": f"Bearer {tokens.issue('local-import', admin=True, scopes=[], ttl_seconds=3600)}",
               "Content-Type": "application/json"}
    create = urllib.request.Request(  # noqa: S310 - a local URL the user gives
        f"{args.url}/admin/imports", method="POST", headers=headers,
        data=json.dumps({"kind": args.kind, "format": file_format}).encode())
    with urllib.request.urlopen(create, timeout=30) as response:  # noqa: S310 - a local URL the user gives
        created = json.load(response)
    # urllib would label the bytes a form (application/x-www-form-urlencoded), which moto's S3 parses as one.
    upload = urllib.request.Request(created["upload_url"], method="PUT", data=path.read_bytes(),  # noqa: S310
                                    headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(upload, timeout=300).close()  # noqa: S310 - the URL the local stack answered
    print(f"import {created['import_id']}: {path} uploaded", flush=True)
    deadline = time.monotonic() + args.timeout
    while True:
        status = urllib.request.Request(f"{args.url}/admin/imports/{created['import_id']}",  # noqa: S310
                                        headers=headers)
        with urllib.request.urlopen(status, timeout=30) as response:  # noqa: S310 - a local URL the user gives
            found = json.load(response)
        print(f"{found['status']}: {found['imported']} imported, {found['skipped']} skipped, {found['failed']} failed"
              f" of {found['rows']} rows", flush=True)
        if found["status"] in ("completed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(2)
    for error in found["errors"]:
        print(f"line {error['line']}: {error['code']}: {error['detail']}")
    return 0 if found["status"] == "completed" else 1


def _openapi(args: argparse.Namespace) -> int:
    from loyalty_local import openapi

    for path in openapi.write():
        print(f"wrote {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from loyalty_local import verify

    def load(path: str) -> Any:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    with open(args.public_key, encoding="utf-8") as handle:
        text = handle.read()
    pem = text if text.lstrip().startswith("-----BEGIN") else json.loads(text)["public_key_pem"]
    problems: list[str] = []
    if args.proof:
        if not args.checkpoint:
            print("--proof needs --checkpoint (GET /admin/ledger/checkpoints/<date>)")
            return 2
        problems += verify.proof_problems(load(args.proof), load(args.checkpoint), pem,
                                          load(args.entry) if args.entry else None)
    if args.chain:
        found = load(args.chain)
        problems += verify.chain_problems(found["items"] if isinstance(found, dict) else found, pem)
    if not args.proof and not args.chain:
        print("nothing to verify: give --proof and --checkpoint, and/or --chain")
        return 2
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print("OK: " + " and ".join(part for part, given in (("the proof holds", args.proof),
                                                             ("the chain holds", args.chain)) if given))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loyalty-local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the whole API locally on moto")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    serve.add_argument("--no-demo", action="store_true", help="do not seed the demo program")
    serve.add_argument("--stream-chaos", type=float, default=float(os.environ.get("STREAM_CHAOS", "0")),
                       help="probability of a random stream batch failure or redelivery (testing)")
    serve.add_argument("--connectors-url", default=os.environ.get("LOYALTY_LOCAL_CONNECTORS_URL"),
                       help="post every event as Segment, Braze and Klaviyo would get it to <url>/segment, "
                            "<url>/braze and <url>/klaviyo (the template's transformers)")
    serve.add_argument("--schedule-seconds", type=float,
                       default=float(os.environ.get("LOYALTY_LOCAL_SCHEDULE_SECONDS", "60")),
                       help="run every scheduled job this often (0: only on POST /local/jobs/<job>)")
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a signed local access token (bare JWT on the last line)")
    token.add_argument("--sub", required=True, help="the member id (or client id of a back end)")
    token.add_argument("--admin", action="store_true", help="add the loyalty-admin group")
    token.add_argument("--scope", action="append", help="an OAuth scope, e.g. loyalty/transactions")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds until it expires")
    token.set_defaults(run=_token)

    reconcile = commands.add_parser("reconcile", help="check every ledger invariant on a running local stack")
    reconcile.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    reconcile.set_defaults(run=_reconcile)

    simulate = commands.add_parser("simulate", help="generate a realistic program history on a running stack")
    simulate.add_argument("--members", type=int, default=40)
    simulate.add_argument("--days", type=int, default=45)
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    simulate.set_defaults(run=_simulate)

    bulk = commands.add_parser("import", help="import a members or transactions file into a running local stack")
    bulk.add_argument("kind", choices=["members", "transactions"])
    bulk.add_argument("file", help="JSON Lines (.jsonl) or CSV (.csv): see the contract's Bulk import")
    bulk.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file's extension")
    bulk.add_argument("--timeout", type=float, default=3600, help="seconds to follow the import")
    bulk.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    bulk.set_defaults(run=_import)

    check = commands.add_parser("verify", help="check an entry's proof and the checkpoints' signatures and chain "
                                               "(docs/ledger-proofs.md)")
    check.add_argument("--public-key", required=True,
                       help="GET /ledger/public-key's answer (JSON), or the PEM itself in a file")
    check.add_argument("--proof", help="GET /members/<id>/activity/<entry_id>/proof's answer (JSON)")
    check.add_argument("--checkpoint", help="GET /admin/ledger/checkpoints/<date>'s answer (JSON)")
    check.add_argument("--entry", help="the entry as you know it (JSON): its fields must match the proof's")
    check.add_argument("--chain", help="GET /admin/ledger/checkpoints's answer (JSON): consecutive checkpoints")
    check.set_defaults(run=_verify)

    docs = commands.add_parser("openapi", help="regenerate docs/openapi.json and docs/partner-openapi.json")
    docs.set_defaults(run=_openapi)

    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

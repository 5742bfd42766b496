"""vt-py, unchanged, against `vtsum serve`: driven by crates/vtsum/tests/vtpy.rs.

Reads a JSON plan on stdin and prints what vt-py returned as JSON on stdout. The test
judges it; this script only asks and reports.

Plans:
- {"mode": "crowd", "url", "tokens": [..], "lists": [[hash..]..], "in_flight", "unknown",
   "wrong_token"}: one vt.Client per token asks its list, `in_flight` at a time, all clients
   at once; then every list again; then one unknown hash and one wrong token.
- {"mode": "spent", "url", "token", "hashes": [first, second]}: the first is answered, the
   second meets keys that are out for the day.
- {"mode": "bench", "url", "tokens", "lists", "in_flight"}: as a crowd's first round, but
   errors are counted, not raised (vtsum-bench vtpy: vt-py straight at VirusTotal, or
   through vtsum).
"""

import asyncio
import json
import sys

import vt


async def ask_all(client, hashes, in_flight):
    gate = asyncio.Semaphore(in_flight)
    out = {}

    async def one(h):
        async with gate:
            obj = await client.get_object_async(f"/files/{h}")
            out[h] = obj.to_dict()

    await asyncio.gather(*(one(h) for h in hashes))
    return out


async def code_of(client, path):
    try:
        await client.get_object_async(path)
    except vt.APIError as e:
        return e.code
    return None


async def crowd(plan):
    url, in_flight = plan["url"], plan["in_flight"]
    clients = [vt.Client(t, host=url) for t in plan["tokens"]]
    try:
        firsts = await asyncio.gather(
            *(ask_all(c, l, in_flight) for c, l in zip(clients, plan["lists"]))
        )
        agains = await asyncio.gather(
            *(ask_all(c, l, in_flight) for c, l in zip(clients, plan["lists"]))
        )
        objects = {}
        for got in firsts:
            objects.update(got)
        same_again = all(
            first == again for first, again in zip(firsts, agains)
        )
        unknown = await code_of(clients[0], f"/files/{plan['unknown']}")
    finally:
        for c in clients:
            await c.close_async()
    wrong = vt.Client(plan["wrong_token"], host=url)
    try:
        wrong_code = await code_of(wrong, f"/files/{plan['lists'][0][0]}")
    finally:
        await wrong.close_async()
    return {
        "objects": objects,
        "same_again": same_again,
        "unknown_code": unknown,
        "wrong_code": wrong_code,
    }


async def spent(plan):
    client = vt.Client(plan["token"], host=plan["url"])
    try:
        first, second = plan["hashes"]
        obj = await client.get_object_async(f"/files/{first}")
        code = await code_of(client, f"/files/{second}")
        raw = await client.get_async(f"/files/{second}")
        return {
            "first_id": obj.id,
            "second_code": code,
            "status": raw.status,
            "retry_after": raw.headers.get("Retry-After"),
        }
    finally:
        await client.close_async()


async def bench(plan):
    url, in_flight = plan["url"], plan["in_flight"]
    counts = {"answered": 0, "quota_errors": 0, "other_errors": 0}

    async def ask_list(client, hashes):
        gate = asyncio.Semaphore(in_flight)

        async def one(h):
            async with gate:
                try:
                    await client.get_object_async(f"/files/{h}")
                    counts["answered"] += 1
                except vt.APIError as e:
                    key = "quota_errors" if e.code == "QuotaExceededError" else "other_errors"
                    counts[key] += 1

        await asyncio.gather(*(one(h) for h in hashes))

    clients = [vt.Client(t, host=url, timeout=600) for t in plan["tokens"]]
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.gather(*(ask_list(c, l) for c, l in zip(clients, plan["lists"])))
    finally:
        for c in clients:
            await c.close_async()
    counts["seconds"] = loop.time() - started
    return counts


def main():
    plan = json.load(sys.stdin)
    run = {"crowd": crowd, "spent": spent, "bench": bench}[plan["mode"]]
    print(json.dumps(asyncio.run(run(plan))))


if __name__ == "__main__":
    main()

"""What the Python benchmarks share: SPEC §12's round-trip (the update stream, the session,
BotSession's side of it) and the alternating-rounds race that compares two contenders."""
import json
import random
import time

from botsession import Engine, Store

KEYS = 10000
ROUNDS = 5  # the contenders take turns, so a machine that speeds up or slows down affects both
INITIAL = {"count": 0, "name": "a session of about two hundred bytes, padded with some text", "recent": [1, 2, 3],
           "settings": {"notify": True, "language": "en"}}


def update_for(chat: int) -> dict:
    """A ~400-byte group message from chat number `chat`."""
    return {"update_id": 1, "message": {"message_id": 1, "date": 1763700000, "text": "one more pizza please 🍕",
            "from": {"id": 424242, "is_bot": False, "first_name": "Ann", "username": "ann_example", "language_code": "en"},
            "chat": {"id": -1000000000000 - chat, "title": "Pizza lovers of the world", "type": "supergroup"},
            "entities": [{"offset": 0, "length": 3, "type": "bold"}]}}


_random = random.Random(7)
UPDATES = [json.dumps(update_for(_random.randrange(KEYS))) for _ in range(1024)]


def by_hand(read, write):
    """A contender that does the round-trip by hand: parse the update for its key, `read(key)`
    the stored text (or None), increment, `write(key, text)`."""
    def run(first: int, n: int) -> float:
        start = time.perf_counter()
        for i in range(first, first + n):
            key = str(json.loads(UPDATES[i % 1024])["message"]["chat"]["id"])
            text = read(key)
            session = json.loads(text) if text is not None else dict(INITIAL)
            session["count"] += 1
            write(key, json.dumps(session))
        return time.perf_counter() - start

    return run


def through_botsession(uri: str, **options):
    """BotSession's contender on the store at `uri`."""
    engine = Engine(Store.open(uri, **options), initial=INITIAL)

    def run(first: int, n: int) -> float:
        start = time.perf_counter()
        for i in range(first, first + n):
            with engine.update(UPDATES[i % 1024]) as session:
                value = session.get()
                value["count"] += 1
                session.set(value)
        return time.perf_counter() - start

    return run


def race(a, b, n: int):
    """Round-trips per second of `a` and `b` (each `run(first, n) -> seconds`), in alternating rounds."""
    per_round = max(n // ROUNDS, 1)
    seconds_a = seconds_b = 0.0
    for r in range(ROUNDS):
        seconds_a += a(r * per_round, per_round)
        seconds_b += b(r * per_round, per_round)
    return per_round * ROUNDS / seconds_a, per_round * ROUNDS / seconds_b

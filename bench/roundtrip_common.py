"""What the Python benchmarks share: SPEC §12's round-trip (the update stream, the session, the
contenders' bodies) and the race that runs contenders in interleaved rounds and compares them by
CPU time.

The update stream: ~400-byte supergroup messages (compact JSON, as Telegram sends it), each with
its own update_id and message_id, from one of KEYS chats chosen uniformly at random (a fixed
seed, so every contender sees the same stream). aiogram caches per update_id (Update.__hash__ is
the update_id; `event_type` is an lru_cache on it), so a stream that repeats one update_id
measures pydantic comparing updates with each other, not the bot.
"""
import json
import random
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

KEYS = 10000
ROUNDS = 5
INITIAL = {"count": 0, "name": "a session of about two hundred bytes of compact JSON, padded with a little text",
           "recent": [101, 202, 303, 404, 505], "settings": {"notify": True, "language": "en", "timezone": "Europe/Rome"}}

_TEXTS = ["one more pizza please 🍕", "who is coming tonight? I can bring the drinks and some snacks",
          "+1", "can we order from the place near the station this time, the last one was cold",
          "margherita for me", "I'll pay for two, send me the total when the order is in 👍"]


def dumps(value) -> str:
    """Compact JSON, as the binding writes it (and as the by-hand contenders write theirs)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def chat_id(chat: int) -> int:
    return -1000000000000 - chat


def make_updates(n: int, seed: int = 7) -> List[str]:
    """`n` updates as JSON texts: update_id 1..n, chats uniform over KEYS, ~400 bytes each."""
    rng = random.Random(seed)
    updates = []
    for i in range(n):
        chat = rng.randrange(KEYS)
        user = 100000000 + rng.randrange(1000000)
        text = rng.choice(_TEXTS)
        updates.append(dumps({"update_id": 500000000 + i, "message": {
            "message_id": 10000 + i, "date": 1763700000 + i,
            "from": {"id": user, "is_bot": False, "first_name": "Ann", "last_name": "Example",
                     "username": f"user{user}", "language_code": "en"},
            "chat": {"id": chat_id(chat), "title": "Pizza lovers of the world", "username": "pizza_lovers",
                     "type": "supergroup"},
            "text": text, "entities": [{"offset": 0, "length": 3, "type": "bold"}]}}))
    return updates


def key_of(update_text: str) -> str:
    """The session key the way a by-hand contender finds it: parse the update, take the chat id."""
    return str(json.loads(update_text)["message"]["chat"]["id"])


def by_hand(read: Callable[[str], object], write: Callable[[str, str], None]):
    """A contender that does the round-trip by hand: parse the update for its key, `read(key)`
    the stored text (or None), parse it, increment, serialise compactly, `write(key, text)`."""
    loads = json.loads

    def run(updates: Sequence[str]) -> None:
        for text in updates:
            key = str(loads(text)["message"]["chat"]["id"])
            stored = read(key)
            session = loads(stored) if stored is not None else dict(INITIAL)
            session["count"] += 1
            write(key, dumps(session))

    return run


def through_botsession(engine):
    """BotSession's contender: the binding's fused round-trip (begin, get, set, commit)."""
    def run(updates: Sequence[str]) -> None:
        for text in updates:
            with engine.update(text) as session:
                value = session.get()
                value["count"] += 1
                session.set(value)

    return run


class Result:
    """One contender's per-round figures: updates per CPU second and per wall second."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cpu: List[float] = []
        self.wall: List[float] = []
        self.extra_cpu: List[float] = []  # CPU seconds spent in a server process, per round

    @property
    def cpu_rate(self) -> float:
        return statistics.median(self.cpu)

    @property
    def wall_rate(self) -> float:
        return statistics.median(self.wall)


def timed(run: Callable[[Sequence[str]], None], updates: Sequence[str]) -> Tuple[float, float]:
    """(CPU seconds of this process, all threads; wall seconds) that `run(updates)` takes."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run(updates)
    return time.process_time() - cpu0, time.perf_counter() - wall0


def race(contenders: Dict[str, Callable[[Sequence[str]], tuple]], updates: Sequence[str],
         rounds: int = ROUNDS, warmup: int = 0) -> Dict[str, Result]:
    """Runs every contender (`name -> measure(updates) -> (cpu s, wall s)`) on the same slices of
    `updates` in interleaved rounds (a measure may return a third figure, the CPU seconds a
    server process spent): an untimed warm-up slice of `warmup` updates first, then
    `rounds` slices, each fed to every contender, in an order that rotates from round to round
    (a machine that speeds up or slows down affects all of them alike). Each contender sees
    every update exactly once, so update ids never repeat for it."""
    per_round = (len(updates) - warmup) // rounds
    if per_round <= 0:
        raise ValueError("too few updates for the rounds")
    names = list(contenders)
    results = {name: Result(name) for name in names}
    for name in names:
        contenders[name](updates[:warmup])
    for r in range(rounds):
        chunk = updates[warmup + r * per_round: warmup + (r + 1) * per_round]
        order = names[r % len(names):] + names[:r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            measured = contenders[name](chunk)
            cpu, wall = measured[0], measured[1]
            if len(measured) > 2:  # CPU seconds of a server process
                results[name].extra_cpu.append(measured[2] / len(chunk))
            results[name].cpu.append(len(chunk) / cpu if cpu > 0 else float("inf"))
            results[name].wall.append(len(chunk) / wall)
    return results


def ratio(ours: Result, theirs: Result, of: str = "cpu") -> float:
    """The median over rounds of ours/theirs throughput, round by round (same round, same load)."""
    a, b = getattr(ours, of), getattr(theirs, of)
    return statistics.median(x / y for x, y in zip(a, b))


def report(results: Dict[str, Result], descriptions: Dict[str, str]) -> None:
    width = max(len(name) for name in results)
    for name, result in results.items():
        extra = ""
        if result.extra_cpu:
            extra = f"   (+ server CPU {statistics.median(result.extra_cpu) * 1e6:5.0f} µs/update)"
        print(f"  {name:<{width}}  {result.cpu_rate:9.0f} updates/CPU-s  {result.wall_rate:9.0f} updates/wall-s"
              f"{extra}   {descriptions.get(name, '')}")
        print(f"  {'':<{width}}  per round: " + ", ".join(f"{x:.0f}" for x in result.cpu) + " updates/CPU-s")


def compare(label: str, ours: Result, theirs: Result, target: str) -> None:
    print(f"  ratio {label:<44} {ratio(ours, theirs):5.2f}x CPU   {ratio(ours, theirs, 'wall'):5.2f}x wall"
          f"   (target {target}; CPU per round: " + ", ".join(f"{a / b:.2f}" for a, b in zip(ours.cpu, theirs.cpu)) + ")")

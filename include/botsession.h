/*
 * botsession.h - the C API of BotSession, a session engine for chat-bot runtimes.
 * SPDX-License-Identifier: MIT (see LICENSE; make install puts it in DOCDIR)
 *
 * For every incoming update (a Telegram update as JSON text), BotSession resolves a session key,
 * loads the session value (JSON text) from a store, lets the bot's handler read and replace it,
 * and writes back what the handler left. It follows the session plugin of grammY.
 *
 *     botsession_store *store;  botsession_engine *engine;  botsession_update *u;
 *     botsession_store_open("sqlite:sessions.db", NULL, &store);
 *     botsession_engine_new("{\"initial\": {\"count\": 0}}", &engine);
 *     botsession_engine_set_store(engine, NULL, store);
 *     botsession_store_close(store);            // the engine keeps it alive
 *     if (botsession_begin(engine, update_json, &u) == BOTSESSION_OK) {
 *         char *json;
 *         botsession_get(u, NULL, &json);        // {"count":0}
 *         botsession_set(u, NULL, "{\"count\":1}");
 *         botsession_free(json);
 *         botsession_commit(u);                 // writes {"count":1}; frees u
 *     }
 *     botsession_engine_free(engine);
 *
 * CONVENTIONS
 *
 * Statuses. Every function that can fail returns an int status: BOTSESSION_OK (0) or one of the
 * codes below. A failure also records a message for the calling thread, read with
 * botsession_last_error(). Results come back through out-parameters, which are set to NULL (or
 * 0) when a call fails.
 *
 * Ownership. A `char *` the library hands out is the caller's, to be freed exactly once with
 * botsession_free(). Strings the caller passes in are only borrowed for the duration of the
 * call. Callbacks hand data back through a botsession_buffer sink, which copies it, so callback
 * authors keep their own memory. Every `*_open`/`*_new`/`begin` has exactly one way to release
 * what it made: *_close, *_free, or commit/rollback.
 *
 * Lifetimes. Stores, engines and iterators are reference-counted among themselves: an engine
 * keeps the stores it uses alive after botsession_store_close(), an iterator keeps its store
 * alive, and an open update keeps its engine alive after botsession_engine_free(). An object goes
 * when its last user does. Using a handle after the call that releases it (close, free, commit,
 * rollback) is use after free, as with free(): undefined behaviour, not an error status.
 *
 * Handle checks. Every handle starts with a word that says its kind (store, engine, update,
 * iterator, buffer), and every function checks it before anything else: a handle of the wrong
 * kind (an engine passed as a store, an update as an iterator, a store as a buffer) is MISUSE,
 * "s: expected a botsession_store handle, got a botsession_engine", and a pointer to other memory
 * is MISUSE, "... got something that is not a BotSession handle". The void functions
 * (botsession_store_close, botsession_engine_free, botsession_iter_free, botsession_rollback)
 * do nothing with such a handle and record the same message for botsession_last_error(). Releasing
 * a handle clears its word, so a handle used again after its release is usually MISUSE too, but
 * not always (its memory may already hold a new handle of the same kind): that stays undefined
 * behaviour, as above. A pointer that is not readable memory (garbage, a small integer) is not
 * detected. NULL is MISUSE (and a no-op for the void functions).
 *
 * Threads. The library is thread-safe. Stores (botsession_store) and engines
 * (botsession_engine) may be shared by any number of threads once configured. An update
 * (botsession_update) and an iterator (botsession_iter) belong to one thread at a time: they may
 * move between threads, but must not be used by two at once. Callbacks run on the thread that
 * made the call that needs them, possibly on several threads at once for a shared engine or
 * store; they must be thread-safe accordingly. The library never holds an internal mutex while it
 * calls a callback. Updates with the same session key are serialised (see botsession_begin);
 * key and initial callbacks, and a custom store's methods, may run while that key is held.
 *
 * Processes and machines. Updates of one session in one process are serialised by key locks
 * (see botsession_begin). Across processes and machines (a SQLite file or a file-store directory
 * shared by processes, a PostgreSQL database shared by instances), a commit is a compare-and-set:
 * each session carries the version its store had when it was read (at begin for strict sessions,
 * at the first get for lazy ones), and if another writer committed since, botsession_commit
 * returns BOTSESSION_CONFLICT and writes nothing for it. (botsession_begin and botsession_get
 * can return CONFLICT too, when an enhancer's housekeeping keeps losing the race; see
 * botsession_store_enhance.) Run the handler again from begin:
 *
 *     for (int attempt = 0; attempt < 5; attempt++) {
 *         botsession_update *u;
 *         int rc = botsession_begin(e, update_json, &u);
 *         if (rc == BOTSESSION_OK) {
 *             handle(u);                              // reads and sets sessions, sends nothing
 *             rc = botsession_commit(u);              // (a failing get: rollback, then as here)
 *         }
 *         if (rc != BOTSESSION_CONFLICT) { if (rc == BOTSESSION_OK) send_replies(); break; }
 *     }
 *
 * A re-run repeats the handler's side effects, so send replies after the commit. A session set
 * without being read is written blindly (no version to compare). Memory and custom stores keep
 * no versions: they rely on the key locks of the one process that uses them.
 *
 * A commit is one unit of work: no change is ever applied twice. Store handles that share a
 * store identity (one SQLite file and table, one PostgreSQL table, one file-store directory,
 * enhanced or not) commit in one transaction. An update whose sessions live in several stores
 * first prepares every store, in one global order (sorted by identity), each wait bounded by
 * lock_timeout_ms: SQLite takes its write lock (BEGIN IMMEDIATE) and checks versions,
 * PostgreSQL opens a transaction and checks xmin, the file store writes and flushes its
 * temporary files and then takes its folder locks and compares. So CONFLICT and BUSY always
 * mean that nothing was written, and the loop above may run the handler again. Only then is
 * each store written; a failure in that last phase (an I/O error, a server gone mid-commit)
 * after some stores were written is BOTSESSION_PARTIAL: the message names what was and was not
 * written, and the handler must not run again (its change would apply twice), which is why
 * the loop re-runs nothing but CONFLICT. Stores that take no lock and check nothing (memory,
 * custom) are written last, after the others released their locks, so a custom store's methods
 * never run while a lock of another store is held (a failure there, after the others were
 * written, is PARTIAL). A PostgreSQL connection lost during COMMIT leaves the outcome unknown:
 * PARTIAL too.
 *
 * fork(). Handles created before fork() must not be used in the child; create new ones there.
 * Every process-wide table and mutex (the key locks above all) is reset in the child, so a child
 * with fresh handles never waits for a key that a thread of the parent held at the fork; the
 * child closes its copies of the file store's locked descriptors, and fork() waits for the
 * library calls other threads have in flight (the Swift runtime inside the library takes locks
 * of its own, which a child must not inherit held; and SQLite shares a file's lock state among
 * a process's connections, so a child forked inside a write could never write). It does not
 * wait for a thread that is waiting for a key lock or running one of your callbacks, so a
 * callback may fork. (A
 * SQLite or PostgreSQL store that notices it runs in a child opens connections of its own
 * rather than sharing the parent's; SQLite reopens the file by its absolute path, so a child
 * that changed directory still finds it.)
 *
 * JSON. Every JSON text is UTF-8, NUL-terminated, validated strictly (RFC 8259, as JavaScript's
 * JSON.parse accepts it) and never re-serialised: a value is stored and returned as the exact
 * text that was set, so `0.1` and integers beyond 64 bits keep their text. JSON nested deeper
 * than 512 levels is refused.
 *
 * Keys. Session keys are UTF-8 byte strings of at most 1,024 bytes, compared as bytes.
 */
#ifndef BOTSESSION_H
#define BOTSESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions and statuses
 * ------------------------------------------------------------------------------------------- */

/* The version this header describes: major * 1000000 + minor * 1000 + patch. Bindings compare it
 * with botsession_version_number() at load time. */
#define BOTSESSION_VERSION_NUMBER 1000
#define BOTSESSION_VERSION "0.1.0"

#define BOTSESSION_OK             0  /* success */
#define BOTSESSION_ERROR          1  /* a failure that fits no other status, or an operation the
                                        store cannot do (iterating a custom store without keys) */
#define BOTSESSION_MISUSE         2  /* a caller's mistake: NULL argument, a handle in the wrong
                                        state, an unknown fragment, a key that is not UTF-8 */
#define BOTSESSION_INVALID_JSON   3  /* malformed JSON in an update, value or callback result */
#define BOTSESSION_INVALID_OPTION 4  /* an unknown, malformed or wrong-typed option */
#define BOTSESSION_NO_KEY         5  /* session data touched for an update without a session key */
#define BOTSESSION_STORAGE        6  /* I/O or database failure, store unreachable, corrupt file */
#define BOTSESSION_CONFLICT       7  /* a concurrent writer won; run the handler again */
#define BOTSESSION_TOO_BIG        8  /* a value above max_value_bytes, a key above 1,024 bytes */
#define BOTSESSION_CALLBACK       9  /* a user callback failed */
#define BOTSESSION_MIGRATION     10  /* stored data cannot be migrated */
#define BOTSESSION_BUSY          11  /* timed out waiting for a lock */
#define BOTSESSION_PARTIAL       12  /* a commit failed while writing, after some of its stores
                                        were written (the message names which): never run the
                                        handler again, its change would apply twice */

/* Opaque handles. */
typedef struct botsession_store  botsession_store;   /* a place where sessions live */
typedef struct botsession_engine botsession_engine;  /* the session middleware's configuration */
typedef struct botsession_update botsession_update;  /* one update being handled */
typedef struct botsession_iter   botsession_iter;    /* a cursor over a store's entries */
typedef struct botsession_buffer botsession_buffer;  /* a sink a callback writes its result to */

/* ---------------------------------------------------------------------------------------------
 * Library
 * ------------------------------------------------------------------------------------------- */

/* The library's version as text, such as "0.1.0". Static storage: never free it. */
const char *botsession_version(void);

/* The library's version as a number, equal to the BOTSESSION_VERSION_NUMBER of the header it was
 * built with (1000 for 0.1.0). */
int botsession_version_number(void);

/* The name of a status, such as "BOTSESSION_NO_KEY"; "BOTSESSION_UNKNOWN" for a number that is
 * no status. Static storage: never free it. */
const char *botsession_status_name(int status);

/* The message of this thread's last failure: what was wrong and what to do. Owned by the
 * library; valid until the next failing call on the same thread (successful calls leave it as it
 * is). "" when this thread has had no failure. Never NULL. */
const char *botsession_last_error(void);

/* Frees a pointer the library returned (a JSON text, a key). NULL is a no-op. */
void botsession_free(void *ptr);

/* Copies `len` bytes at `data` into `buf`, replacing what an earlier call put there; `data` may
 * be NULL only when `len` is 0 (an empty result, which is not the same as leaving the buffer
 * unset). Used by callbacks to hand back their result; the buffer is valid only during the
 * callback it was passed to.
 * Returns OK, or MISUSE when `buf` is NULL or `data` is NULL with `len` > 0. */
int botsession_buffer_set(botsession_buffer *buf, const char *data, size_t len);

/* Called from inside a callback that is about to return failure, to say why: `message` becomes
 * part of the CALLBACK status's message. Copies `message`; NULL clears it. It applies to the
 * callback running on this thread only; outside a callback it has no effect. */
void botsession_callback_error(const char *message);

/* ---------------------------------------------------------------------------------------------
 * Callbacks. Each returns 0 on success; anything else is a failure, reported as
 * BOTSESSION_CALLBACK (with the text given to botsession_callback_error, if any). The pointers
 * they receive are borrowed for the call. `user_data` is what was registered with the callback;
 * it must stay valid for as long as the object it was given to.
 * ------------------------------------------------------------------------------------------- */

/* Finds the session key of an update. Set `key_out` to the key's bytes (an empty key "" is
 * valid); leave it unset for "this update has no key". A key containing a NUL byte or invalid
 * UTF-8 is a CALLBACK failure; one longer than 1,024 bytes (prefix included) is TOO_BIG. */
typedef int (*botsession_key_fn)(void *user_data, const char *update_json,
                                 botsession_buffer *key_out);

/* Makes the initial value of a session the store does not have: set `json_out` to a JSON text,
 * or leave it unset for "absent". */
typedef int (*botsession_initial_fn)(void *user_data, botsession_buffer *json_out);

/* Migrates stored data (used by the enhancer): set `json_out` to the migrated JSON text, or
 * leave it unset to make the data read as absent. */
typedef int (*botsession_migrate_fn)(void *user_data, const char *old_json,
                                     botsession_buffer *json_out);

/* A clock for expiry: milliseconds since the Unix epoch. */
typedef int64_t (*botsession_clock_fn)(void *user_data);

/* The methods of a custom store. `read`, `write` and `remove` are required; `has`, `keys` and
 * `release` may be NULL. Set `size` to sizeof(botsession_store_methods): the struct may grow in
 * later versions. Members beyond `size` (a struct from an older header) are treated as NULL. A
 * struct from a newer header than the library's is accepted when the members this library does
 * not know are all NULL (zero bytes), and refused with MISUSE when one is set, since the library
 * would silently ignore it. */
typedef struct botsession_store_methods {
    size_t size;
    /* Sets `json_out` to the JSON text stored under `key`; leaves it unset when there is none. */
    int  (*read)(void *user_data, const char *key, botsession_buffer *json_out);
    /* Stores the JSON text `json` under `key`, replacing what was there. */
    int  (*write)(void *user_data, const char *key, const char *json);
    /* Removes `key`; removing an absent key succeeds. */
    int  (*remove)(void *user_data, const char *key);
    /* Sets *exists_out to 1 when a value is stored under `key`, else 0. Without it, `read`
     * answers. */
    int  (*has)(void *user_data, const char *key, int *exists_out);
    /* Sets `json_array_out` to a JSON array of the keys (strings) that start with `prefix`
     * ("" for all); leaving it unset means no keys. Without it, the store cannot be iterated
     * (ERROR). */
    int  (*keys)(void *user_data, const char *prefix, botsession_buffer *json_array_out);
    /* Called once when the store is gone (its last user let go), to free `user_data`. */
    void (*release)(void *user_data);
} botsession_store_methods;

/* ---------------------------------------------------------------------------------------------
 * Stores
 * ------------------------------------------------------------------------------------------- */

/* Opens a built-in store. `uri` is one of:
 *   "memory:"          an in-process map, gone with the process. Options: {"ttl_ms": N}, a
 *                      lifetime after each write (expired entries are invisible and reclaimed).
 *   "sqlite:PATH"      a SQLite file (created if missing) in WAL mode; "sqlite::memory:" is a
 *                      private in-memory database. Options: {"table": "sessions"} (letters,
 *                      digits, underscores), {"synchronous": "normal"|"full"|"off"} ("normal":
 *                      no commit is lost when the process crashes; "full": none on power loss
 *                      either), {"busy_timeout_ms": 5000} (how long a write waits for another
 *                      connection). Several processes may share the file: each commit is one
 *                      transaction and a compare-and-set on a version column (CONFLICT when
 *                      another process committed the session since it was read).
 *   "file:DIR"         one JSON file per session under DIR (created if missing), in grammY's
 *                      file adapter layout (DIR/<last two characters>/<key>.json) for keys of
 *                      letters, digits, "-", "_" and "."; other keys are encoded so that no key
 *                      can leave DIR. Each write goes to a temporary file (random name, flushed)
 *                      first, then, under an flock of the key's folder (waited for at most
 *                      lock_timeout_ms; 10 s outside an engine), the file is compared with
 *                      what was read and replaced by a rename: a compare-and-set across
 *                      processes. An empty file (grammY's in-place write leaves one after a
 *                      crash) reads as absent. Temporary files that killed writers left are
 *                      removed by the next write to their folder once a minute old. grammY's
 *                      file adapter takes no lock: hand a folder over between a grammY bot and
 *                      a BotSession bot, but do not write it from both at once (share
 *                      PostgreSQL instead). No options.
 *   "postgresql://..." (or "postgres://...", or any libpq connection string starting so) a
 *                      table in a PostgreSQL database, for bots on several machines: the table
 *                      grammY's adapter uses ("key" VARCHAR with a unique index, "value" TEXT),
 *                      created when missing; commits are a compare-and-set on the row's xmin, so
 *                      writes by grammY's adapter are seen too. One round trip per read and per
 *                      commit of one session. A server that restarts is reconnected to; while it
 *                      is down, operations fail with STORAGE. Passwords, TLS and the like are
 *                      libpq's (URI, environment, ~/.pgpass); messages never contain the URI's
 *                      password, nor any part of its user information after the user name
 *                      (everything between "://" and the last "@"), nor a password= of its
 *                      query, even when unencoded '/', '@' or ':' make libpq read part of the
 *                      password as host, port or database: then the server's address is not
 *                      shown either. A URI libpq cannot parse is INVALID_OPTION, not quoted; so
 *                      is a key=value connection string, which is not a store URI. TCP
 *                      keepalives turn a dead network into STORAGE within about a minute.
 *                      Options: {"table": "sessions"}, {"connect_timeout_s": 5},
 *                      {"statement_timeout_ms": N} (none by default).
 * `options_json` is a JSON object of options, or NULL (or "") for the defaults.
 * On success *out is a new store, released with botsession_store_close().
 * Returns OK; MISUSE (NULL uri or out, uri not UTF-8); INVALID_OPTION (unknown URI scheme,
 * unknown or wrong-typed option, a PostgreSQL URI libpq cannot parse); INVALID_JSON (malformed options); STORAGE (the file or
 * directory cannot be opened or created, or is not a database; the server cannot be reached);
 * BUSY (another process holds the database locked). */
int botsession_store_open(const char *uri, const char *options_json, botsession_store **out);

/* Makes a store of the caller's methods. `methods` is copied; `user_data` is passed to every
 * method and must stay valid until `release` is called (or, without `release`, until the store
 * is gone). On success *out is a new store, released with botsession_store_close().
 * Returns OK, or MISUSE (NULL methods or out; `size` too small to hold `read`, `write` and
 * `remove`, or larger than any version of the struct (1,024 bytes); a non-zero byte beyond the
 * members this library knows, which means the caller was built against a newer header than the
 * library it runs with: the message gives both sizes and the library's version; `read`, `write`
 * or `remove` missing). A failure makes no store and does not call `release`. */
int botsession_store_custom(const botsession_store_methods *methods, void *user_data,
                            botsession_store **out);

/* Wraps `inner` in grammY's enhancer: expiry and versioned migrations for any store. Values are
 * stored in grammY's wrapper, {"v": version, "__d": data, "e": expiry_ms}, with "v" only when
 * migrations are registered and "e" only with a lifetime, so grammY bots can share the data.
 * Data without "__d" (written before the enhancer) reads as {"__d": data}. Options (a JSON
 * object, NULL or ""): {"max_value_bytes": N} (default 1 MiB): a migration's result larger than
 * that is TOO_BIG (from botsession_store_read, botsession_begin, a lazy botsession_get) and
 * nothing is written. {"ttl_ms": N}: every write stamps e = now + N; data whose e has passed
 * reads as absent and is deleted; data without e (null included) is stamped (and written back,
 * migrated) when read.
 * That housekeeping is done by reads (botsession_store_read, botsession_begin, a lazy
 * botsession_get), stands even if the update rolls back, and is a compare-and-set: a read that
 * loses the race to another writer five times in a row returns CONFLICT. Without ttl_ms, reads
 * write nothing, and an "e" found in the data is ignored (as grammY does).
 * Expiry reads this store's clock (botsession_store_set_clock), else the inner store's.
 * The enhanced store keeps `inner` alive; use the enhanced one from then on. On success *out is
 * a new store, released with botsession_store_close().
 * Returns OK; MISUSE (NULL inner or out); INVALID_JSON; INVALID_OPTION (unknown option, ttl_ms
 * or max_value_bytes not a positive whole number). */
int botsession_store_enhance(botsession_store *inner, const char *options_json,
                             botsession_store **out);

/* Registers the migration to `version` with an enhanced store, before the store is first used.
 * Reading data at version v (none: before all) runs, in ascending order, every migration whose
 * version is greater than v; the data then carries the latest version. Versions are exact real
 * numbers (1, 1.5, 10.1). Data newer than the latest migration fails with MIGRATION and is left
 * as it is. A migration that fails makes the read fail with CALLBACK, stored data untouched;
 * one that leaves its buffer unset (or sets null) drops the data: later migrations do not run,
 * and the data reads as absent (store_read gives NULL, store_has 0, iteration skips it), yet it
 * stays stored until a handler sets or clears that session; an engine's initial value alone
 * does not replace it.
 * `fn` runs on the thread that reads, possibly several at once.
 * Returns OK; MISUSE (NULL argument, a store that is not enhanced, or the store was already
 * used); INVALID_OPTION (a version that is not finite, or one already registered). */
int botsession_store_add_migration(botsession_store *enhanced, double version,
                                   botsession_migrate_fn fn, void *user_data);

/* Reads the value stored under `key`. On success *json_out is a new NUL-terminated JSON text
 * (free it with botsession_free), or NULL when the key is absent. A stored JSON null is returned
 * as the text "null"; a row whose value is SQL NULL (in a table made by another program, or
 * grammY's PostgreSQL table) is absent, as in every store (NULL here, has 0, not iterated). Through an
 * enhancer, the value is unwrapped and migrated (the migrated value is not written back, but
 * with ttl_ms expired data is deleted and data without an expiry is stamped; see
 * botsession_store_enhance); null data reads as "null", data a migration dropped as NULL.
 * Returns OK; MISUSE (NULL argument, key not UTF-8); TOO_BIG (key above 1,024 bytes);
 * STORAGE or BUSY (the store failed); INVALID_JSON (the stored text is not JSON); CALLBACK (a
 * custom store's method or a migration failed); MIGRATION (an enhanced store's data is newer
 * than its latest migration, or its "v" is not a number while migrations are registered;
 * without migrations "v" is ignored); TOO_BIG (a migration's result above the enhancer's
 * max_value_bytes); CONFLICT (an enhancer's housekeeping kept losing to other writers). */
int botsession_store_read(botsession_store *s, const char *key, char **json_out);

/* Stores the JSON text `json` under `key`, replacing what was there.
 * Returns OK; MISUSE (NULL argument, key not UTF-8); TOO_BIG (key above 1,024 bytes, or a
 * value the store cannot hold); INVALID_JSON (`json` is not JSON); STORAGE, BUSY, CALLBACK. */
int botsession_store_write(botsession_store *s, const char *key, const char *json);

/* Removes `key`; removing an absent key is OK.
 * Returns OK; MISUSE; TOO_BIG; STORAGE, BUSY, CALLBACK. */
int botsession_store_delete(botsession_store *s, const char *key);

/* Sets the members of the JSON object `patch_json` on the JSON object stored under `key`, in one
 * atomic step, as Python's dict.update and JavaScript's Object.assign do: each member replaces
 * the stored member of that name where it stands, or is added after the others (names compared
 * decoded; of duplicate names the last value counts). A stored value that is absent, or not an
 * object, counts as {}. Values are copied as they are; the result is written compactly. Nothing
 * is written when the patch is {} or changes nothing. It is how an FSM storage updates its data
 * (the aiogram storage's update_data) without a whole update.
 * Concurrent merges and updates of the key lose nothing: it holds the key's lock of this process
 * (as an update does; waiting up to 10 s, or not at all while botsession_thread_nowait is on),
 * and SQLite, PostgreSQL and file stores compare and set against other processes, reading and
 * merging again after a short random pause when another process wrote first, for up to 10 s.
 * Memory and custom stores are serialised
 * within this process only. Through an enhancer, the value is read and written as the enhancer
 * does (migrations run, expiry refreshed).
 * If merged_out is not NULL, *merged_out becomes the resulting object's JSON text (free it with
 * botsession_free); on failure it is NULL and nothing was written.
 * Returns OK; MISUSE (NULL s, key or patch_json; key not UTF-8); TOO_BIG (key above 1,024
 * bytes, or a value the store cannot hold); INVALID_JSON (patch_json is not JSON,
 * or not a JSON object); BUSY (the key's lock or the store stayed locked; with waiting off, also
 * when another process wrote first, since merging again needs a pause); CONFLICT (other
 * processes changed the key at every attempt for 10 s);
 * STORAGE, CALLBACK, MIGRATION (reading or writing
 * failed, as botsession_store_read and botsession_store_write). */
int botsession_store_merge(botsession_store *s, const char *key, const char *patch_json, char **merged_out);

/* Moves the value under `from_key` to `to_key`, unless `to_key` already has one: a value is never
 * overwritten (then nothing changes and the old value stays). For adapters that keep their own
 * keys and follow a chat migration (the aiogram storage). The stored text moves as it is (through
 * an enhancer: its wrapper, version and expiry included); data an enhancer shows as absent, or a
 * stored null, at `to_key` counts as no value and is replaced. One commit (one transaction in
 * SQLite and PostgreSQL, under the folder lock in the file store), under this process's key locks
 * of both keys, compare-and-set against other processes as botsession_store_merge is.
 * If moved_out is not NULL, *moved_out becomes 1 when the value moved, 0 when `from_key` had
 * nothing or `to_key` had a value (botsession_store_has tells these apart).
 * Returns OK; MISUSE (NULL s or key; a key not UTF-8); TOO_BIG (a key above 1,024 bytes); BUSY;
 * CONFLICT; STORAGE, CALLBACK (a custom store's callback failed; one that failed after writing
 * `to_key` leaves both keys: PARTIAL). */
int botsession_store_move(botsession_store *s, const char *from_key, const char *to_key, int *moved_out);

/* Sets *exists_out to 1 when botsession_store_read would find a value under `key`, else 0
 * (expired data, and data an enhancer's migration dropped, do not count). Through an enhancer
 * this reads and unwraps the value, running migrations, but writes nothing.
 * Returns OK; MISUSE; TOO_BIG; STORAGE, BUSY, CALLBACK; through an enhancer also INVALID_JSON
 * and MIGRATION (as botsession_store_read). */
int botsession_store_has(botsession_store *s, const char *key, int *exists_out);

/* Sets the clock that expiry reads (a memory store's ttl_ms; enhancers wrapping this store);
 * `fn` NULL returns to the system clock. `user_data` must stay valid while the clock is set.
 * Returns OK, or MISUSE (NULL store). */
int botsession_store_set_clock(botsession_store *s, botsession_clock_fn fn, void *user_data);

/* Starts iterating over the entries whose keys start with `prefix` (NULL or "" for all): in
 * insertion order for memory stores, in key byte order for SQLite and file stores, in the order
 * a custom store's `keys` gives. Entries written or deleted during the iteration may or may not
 * be seen; every entry that exists throughout is seen once. Through an enhancer, values are
 * unwrapped and migrated, and expired entries are skipped. The iterator keeps the store alive;
 * free it with botsession_iter_free(). Returns OK; MISUSE (NULL store or out); ERROR (a custom
 * store without `keys`); CALLBACK (the `keys` callback failed or gave something other than an
 * array of strings); INVALID_JSON (it gave text that is not JSON); STORAGE. */
int botsession_store_iter(botsession_store *s, const char *prefix, botsession_iter **out);

/* Moves to the next entry: *key_out and *json_out become new strings (free each with
 * botsession_free), or both NULL at the end. `json_out` may be NULL when only keys are wanted.
 * Returns OK; MISUSE (NULL it or key_out); STORAGE, BUSY, INVALID_JSON, CALLBACK, MIGRATION. */
int botsession_iter_next(botsession_iter *it, char **key_out, char **json_out);

/* Frees an iterator. NULL is a no-op. */
void botsession_iter_free(botsession_iter *it);

/* Releases the caller's reference to a store. The store closes (connections closed, a custom
 * store's `release` called) when no engine or iterator uses it any more. NULL is a no-op. */
void botsession_store_close(botsession_store *s);

/* ---------------------------------------------------------------------------------------------
 * Engines
 * ------------------------------------------------------------------------------------------- */

/* Makes an engine from a JSON object of options (NULL or "" for the defaults):
 *   "key":     how the session key is found in an update: "chat" (default, grammY's
 *              ctx.chatId), "user", "user-chat" ("<user>/<chat>"), "chat-topic"
 *              ("<chat>/<thread>" in forum topics), "business" (the business connection id).
 *   "prefix":  a string put in front of every defined key.
 *   "initial": the JSON value a session starts with when the store has none (persisted at
 *              commit, as in grammY). Absent or null: no initial value.
 *   "lazy":    true to read the session at the first botsession_get instead of at begin.
 *   "fragments": {"name": {"key":..., "prefix":..., "initial":..., "lazy":...}, ...}: several
 *              sessions per update, each with its own options and store. Cannot be combined
 *              with the four options above at the top level.
 *   "max_value_bytes": the largest value botsession_set accepts (default 1048576).
 *   "lock_timeout_ms": how long begin waits for a key another update holds, and how long a
 *              commit waits for a store's lock (the file store's folder locks, the locks of an
 *              update spanning several stores; default 10000; 0 fails at once with BUSY).
 *   "follow_chat_migrations": true to follow a group's move to a supergroup (default false):
 *              an update whose message has "migrate_to_chat_id" (sent in the old group) or
 *              "migrate_from_chat_id" (sent in the new supergroup) first moves the old chat's
 *              sessions to the new chat id, as botsession_migrate_chat() does, and its
 *              chat-keyed fragments are the NEW chat's, so the handler sees the moved session
 *              and nothing is written back under the old id. The move runs in begin (or, for
 *              an update begun without reading, before its first read); its failure is
 *              begin's, with the update rolled back.
 * On success *out is a new engine, released with botsession_engine_free().
 * Returns OK; MISUSE (NULL out); INVALID_JSON; INVALID_OPTION (unknown or wrong-typed option,
 * unknown key strategy, duplicate option). */
int botsession_engine_new(const char *options_json, botsession_engine **out);

/* Sets the store of `fragment` (NULL for the single session). A fragment without a store gets
 * its own memory store at the first begin. The engine keeps `s` alive.
 * Returns OK; MISUSE (NULL engine or store, unknown fragment, a fragment name for an engine
 * without fragments or NULL for one with them, or the engine has already begun an update). */
int botsession_engine_set_store(botsession_engine *e, const char *fragment, botsession_store *s);

/* Sets a key callback for `fragment`, replacing its "key" strategy ("prefix" still applies).
 * Returns OK, or MISUSE as for botsession_engine_set_store (also for a NULL fn). */
int botsession_engine_set_key_fn(botsession_engine *e, const char *fragment,
                                 botsession_key_fn fn, void *user_data);

/* Sets an initial callback for `fragment`, replacing its "initial" value. It is called when a
 * session is read and the store has none.
 * Returns OK, or MISUSE as for botsession_engine_set_store (also for a NULL fn). */
int botsession_engine_set_initial_fn(botsession_engine *e, const char *fragment,
                                     botsession_initial_fn fn, void *user_data);

/* What the engine has done since it was made, as a JSON object; *json_out is a new string (free
 * it with botsession_free). Counted with relaxed atomics, so any thread may ask at any time while
 * others work (each figure is exact; figures read together are not one consistent instant).
 * Names (more may be added later; none is removed or renamed):
 *   begins          updates begun (keys taken)           commits    commits that succeeded
 *   rollbacks       updates rolled back (explicitly, or after a failed begin or read)
 *   reads           session reads from stores            writes     values written (initial
 *   deletes         sessions deleted by commits                     values included)
 *   skipped_writes  sessions read and left as they were, so not written back
 *   conflicts       CONFLICT results (commit or read)    busy       BUSY results (key wait, store lock)
 *   chat_migrations chat migrations that moved sessions  chat_migrations_skipped  chat
 *                   migrations that left a session at the old chat (the new one had its own)
 *   lock_wait_ms    time begin spent waiting for keys that other updates held
 *   store_latency_us  {"p50": n, "p99": n, "max": n, "count": n} over store operations (a read,
 *                   a commit's transaction): microseconds, percentiles within 25%, max exact.
 * Returns OK; MISUSE (NULL e or json_out). */
int botsession_engine_stats(botsession_engine *e, char **json_out);

/* Moves the sessions of chat `old_chat_id` to `new_chat_id`, for a group that became a
 * supergroup (Telegram's migrate_to_chat_id / migrate_from_chat_id). Moved are the sessions of
 * every fragment whose key comes from the chat, with its prefix: "chat" keys <chat>,
 * "chat-topic" keys <chat> and <chat>/<thread>, "user-chat" keys <user>/<chat> (found by
 * scanning the fragment's prefix in its store). Keys of key callbacks, "user" and "business"
 * keys are not moved. The stored text moves unchanged (an enhancer's version and expiry with it).
 * A session the new chat already has is never overwritten: the old one stays where it is.
 * Atomic per store (one transaction in SQLite and PostgreSQL, under the folder lock in the file
 * store, under the engine's key locks in memory and custom stores), with both chats' keys
 * locked for as long as it takes (waiting up to lock_timeout_ms; not at all on a thread marked
 * with botsession_thread_nowait). Running it again finds nothing left to move.
 * Returns OK when it moved the sessions, when there was nothing to move (old_chat_id ==
 * new_chat_id included) and when the target already had a session: the counters
 * chat_migrations and chat_migrations_skipped (botsession_engine_stats) tell these apart.
 * MISUSE (NULL e); BUSY (a key held longer than lock_timeout_ms); CONFLICT (other processes
 * kept changing the keys); STORAGE. On failure nothing was moved (a custom store that failed
 * between writing the new key and deleting the old one keeps both: PARTIAL). */
int botsession_migrate_chat(botsession_engine *e, int64_t old_chat_id, int64_t new_chat_id);

/* Releases the caller's reference to an engine; open updates keep it alive until they end.
 * NULL is a no-op. */
void botsession_engine_free(botsession_engine *e);

/* ---------------------------------------------------------------------------------------------
 * One update
 *
 * A handler runs between botsession_begin and botsession_commit (or botsession_rollback when it
 * fails). What commit writes, per session:
 *   stored absent, handler did nothing, no initial value   -> no I/O
 *   stored absent, handler did nothing, initial value I    -> writes I
 *   stored V, handler only read it                         -> no write
 *   handler set X                                          -> writes X if it differs from what
 *                                                             the store holds; deletes if X is null
 *   stored absent, handler set null                        -> no I/O
 * With a lifetime (a memory store's ttl_ms, an enhancer's), a session the handler read or set is
 * written back even when unchanged, to refresh it; so is a value a migration changed.
 * ------------------------------------------------------------------------------------------- */

/* Starts handling an update (its JSON text): resolves the session key of every fragment, waits
 * until no other open update holds those keys (at most lock_timeout_ms), and reads every strict
 * session that has a key (lazy ones are read at their first get). The first begin freezes the
 * engine's configuration. On success *out is a new update handle that belongs to the calling
 * thread until it is ended with botsession_commit() or botsession_rollback(), exactly once.
 * Returns OK; MISUSE (NULL argument); INVALID_JSON (the update is not JSON, or is JSON but not
 * an object, such as [1,2], 42, null, "text" or true: an update is a JSON object; or an id in
 * it cannot be a key, such as a string with a NUL); CALLBACK (a key or initial callback failed or
 * gave a bad key); TOO_BIG (a key above 1,024 bytes, or an initial callback's value above
 * max_value_bytes); INVALID_OPTION (two fragments resolve to the same key in the same store);
 * BUSY (lock_timeout_ms passed while another update held a key); STORAGE, INVALID_JSON,
 * CALLBACK, MIGRATION, CONFLICT (reading a session failed; CONFLICT: see the retry loop above).
 * On failure the update wrote nothing (an enhancer's housekeeping on a session read before
 * the failure stands, as it does after a rollback). */
int botsession_begin(botsession_engine *e, const char *update_json, botsession_update **out);

/* For event loops, which must not block (the Python binding's asyncio API uses these three):
 * begin without waiting and without reading, then read where blocking is allowed.
 *
 * botsession_lock_names: the key locks botsession_begin would take for `update_json`, in the
 * order it takes them, as a JSON array of [store identity, key] pairs of strings
 * (`[["sqlite:/srv/bot.db#sessions", "-100123"]]`; `[]` for an update without keys). Nothing is
 * locked or read. A binding waits for these names in its own way (an asyncio lock per name)
 * before botsession_begin_nowait, so a waiting update never occupies a thread. On success
 * *json_out is a new string (free it with botsession_free). Returns OK, or as botsession_begin
 * before it locks (MISUSE, INVALID_JSON, CALLBACK, TOO_BIG, INVALID_OPTION). */
int botsession_lock_names(botsession_engine *e, const char *update_json, char **json_out);

/* botsession_begin, except that it never waits and reads nothing: when another open update
 * holds one of the keys it returns BUSY at once (nothing is held), else it takes the keys and
 * *out is the update, whose strict sessions botsession_read_sessions reads. Returns as
 * botsession_begin, without its reading failures. */
int botsession_begin_nowait(botsession_engine *e, const char *update_json, botsession_update **out);

/* Reads the strict sessions of an update begun with botsession_begin_nowait: the store I/O that
 * botsession_begin does after taking the keys. Call it before any get or set (a session set
 * before it is not read); calling it again, or for an update begun with botsession_begin, does
 * nothing. Returns OK; MISUSE (NULL u, or an ended update); STORAGE, INVALID_JSON, CALLBACK,
 * MIGRATION, CONFLICT, TOO_BIG (as botsession_begin's reads); after a failure, roll back. */
int botsession_read_sessions(botsession_update *u);

/* Turns waiting off (on != 0) or on again (0) for the calling thread, and returns the previous
 * setting (1: it was off). While it is off, every call on this thread that would wait for a lock
 * fails at once with BUSY, having done nothing: a key lock (as lock_timeout_ms 0), a SQLite
 * store's connection that another thread is using or its database's write lock (busy timeout
 * 0), a file-store folder lock. Network I/O (PostgreSQL) and custom stores' callbacks are not
 * affected. An event loop tries a store call on its own thread with waiting off, and sends it
 * to a worker thread only on BUSY: in WAL mode a SQLite read never waits for a lock, nor does a
 * write nobody else is making. Careful with botsession_commit: it frees the update whatever the
 * result, so a BUSY commit means running the handler again. */
int botsession_thread_nowait(int on);

/* Gets the session value of `fragment` (NULL for the single session): *json_out becomes a new
 * JSON text (free it with botsession_free), or NULL when there is no session. A lazy session is
 * read on its first get. Returns OK; MISUSE (NULL u or json_out, unknown fragment); NO_KEY (the
 * update has no key for this session; botsession_last_error() gives grammY's message);
 * STORAGE, BUSY, INVALID_JSON, CALLBACK, MIGRATION, CONFLICT, TOO_BIG (reading a lazy session,
 * or making its initial value, failed). */
int botsession_get(botsession_update *u, const char *fragment, char **json_out);

/* Replaces the session value of `fragment` with the JSON text `json`; NULL or "null" deletes the
 * session at commit. The size is checked before the JSON is parsed. Nothing is written before
 * commit. Returns OK; MISUSE; NO_KEY; TOO_BIG (above max_value_bytes); INVALID_JSON. On failure
 * the session keeps its previous value. */
int botsession_set(botsession_update *u, const char *fragment, const char *json);

/* Deletes every session of the update that has a key, at commit; sessions without a key are
 * skipped. Returns OK or MISUSE (NULL u). */
int botsession_clear(botsession_update *u);

/* Gets the session key of `fragment`: *key_out becomes a new string (free it with
 * botsession_free), or NULL when the update has no key for it.
 * Returns OK or MISUSE (NULL argument, unknown fragment). */
int botsession_key(botsession_update *u, const char *fragment, char **key_out);

/* Writes back what the handler left (see the table above), releases the update's keys, and
 * frees `u`, whatever the result: do not use `u` afterwards. The sessions of one store identity
 * are written in one transaction (all or none); an update that spans several stores prepares
 * them all before writing any (see "Processes and machines" above). Writes the handler did not
 * ask for (persisting an initial value, writing back a migrated value, refreshing a lifetime)
 * are skipped, not a CONFLICT, when another writer changed the session first. Returns OK;
 * MISUSE (NULL u); CONFLICT (another writer committed a session of this update since it was
 * read: nothing was written; run the handler again); BUSY (a store stayed locked longer than
 * lock_timeout_ms, or SQLite's busy_timeout_ms: nothing was written); STORAGE, CALLBACK, TOO_BIG
 * (a write failed; nothing was written); PARTIAL (a write failed after other stores of this
 * update were written, or a custom store wrote some of its sessions: the message names which;
 * never run the handler again). */
int botsession_commit(botsession_update *u);

/* Ends the update without writing anything, releases its keys, and frees `u`. NULL is a no-op. */
void botsession_rollback(botsession_update *u);

#ifdef __cplusplus
}
#endif

#endif /* BOTSESSION_H */

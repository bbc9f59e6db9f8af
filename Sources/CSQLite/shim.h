#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call: this wrapper turns off SQLite's memory
 * statistics, whose global mutex a thread may hold inside sqlite3_malloc when another thread
 * forks; the child would then hang in its first SQLite call (SPEC §8: a child with fresh
 * handles never waits). Only effective before SQLite initialises; later it does nothing. */
static inline int botsession_shim_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* A host that loads and unloads the library repeatedly (a plugin system, a language runtime)
 * keeps working: the library is linked with -z nodelete, so its static Swift runtime is never
 * torn down and re-created (without it, about 440 cycles exhaust the process's pthread keys). */
#include "check.h"
#include <dlfcn.h>

/* This program is not linked against the library: check.h's messages cannot ask it. */
#undef botsession_last_error
#define botsession_last_error() "(the library is loaded with dlopen here)"

int main(void) {
    for (int i = 0; i < 1000; i++) {
        void *lib = dlopen("libbotsession.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!lib) FAIL("dlopen failed on cycle %d: %s", i, dlerror());
        const char *(*version)(void) = (const char *(*)(void))dlsym(lib, "botsession_version");
        int (*open_store)(const char *, const char *, botsession_store **) =
            (int (*)(const char *, const char *, botsession_store **))dlsym(lib, "botsession_store_open");
        void (*close_store)(botsession_store *) = (void (*)(botsession_store *))dlsym(lib, "botsession_store_close");
        CHECK(version && open_store && close_store);
        CHECK(strcmp(version(), BOTSESSION_VERSION) == 0);
        botsession_store *s;
        CHECK(open_store("memory:", NULL, &s) == BOTSESSION_OK);
        close_store(s);
        CHECK(dlclose(lib) == 0);
    }
    /* The static Swift runtime inside is not visible to the host. */
    void *lib = dlopen("libbotsession.so.0", RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL);
    CHECK(dlsym(lib, "swift_retain") == NULL);
    dlclose(lib);
    report_passed("test_dlopen");
    return 0;
}

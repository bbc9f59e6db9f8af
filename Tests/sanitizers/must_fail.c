/*
 * must_fail.c - a deliberate bug for each sanitizer: scripts/sanitizer-test.sh builds it with the
 * C tests' flags and options and requires that it FAILS, so a run whose runtime, options or
 * suppressions stopped reporting cannot pass as clean.
 *   must_fail address   reads one byte past a heap block
 *   must_fail thread    two threads increment one plain int
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int counter;

static void *bump(void *arg) {
    (void)arg;
    for (int i = 0; i < 100000; i++) counter++;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "address") == 0) {
        volatile char *p = malloc(8);
        int c = p[8];
        free((void *)p);
        return c == 12345;
    }
    if (argc == 2 && strcmp(argv[1], "thread") == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, bump, NULL);
        pthread_create(&b, NULL, bump, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        return counter < 0;
    }
    fprintf(stderr, "usage: must_fail address|thread\n");
    return 2;
}

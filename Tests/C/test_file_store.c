/* The file store: grammY's file layout, keys that cannot escape the directory, atomic
 * replace, files from and for grammY's file adapter, and what happens with bad files. */
#include "check.h"
#include <dirent.h>
#include <sys/stat.h>

static char dir[512];

static int is_file(const char *relative) {
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void put_file(const char *relative, const char *content) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    char folder[1024];
    snprintf(folder, sizeof folder, "%s", path);
    *strrchr(folder, '/') = 0;
    mkdir(folder, 0755);
    FILE *f = fopen(path, "w");
    if (!f) FAIL("cannot write %s", path);
    fputs(content, f);
    fclose(f);
}

static char *file_text(const char *relative) {
    static char text[4096];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

/* Counts the entries of `path` (recursively) whose names contain `needle`. */
static int count_names(const char *path, const char *needle) {
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
        if (strstr(entry->d_name, needle)) n++;
        char child[2048];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        if (entry->d_type == DT_DIR) n += count_names(child, needle);
    }
    closedir(d);
    return n;
}

/* The deepest nesting of folders under `path` and the longest name in it. */
static void measure_tree(const char *path, int depth, int *deepest, size_t *longest) {
    DIR *d = opendir(path);
    if (!d) return;
    if (depth > *deepest) *deepest = depth;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
        if (strlen(entry->d_name) > *longest) *longest = strlen(entry->d_name);
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        if (entry->d_type == DT_DIR) measure_tree(child, depth + 1, deepest, longest);
    }
    closedir(d);
}

int main(void) {
    make_test_dir();
    snprintf(dir, sizeof dir, "%s/sessions", test_dir);
    char uri[600];
    snprintf(uri, sizeof uri, "file:%s", dir);
    botsession_store *s;
    char *json;

    /* The directory is created. */
    CHECK_OK(botsession_store_open(uri, NULL, &s));

    /* grammY's layout: DIR/<last two characters>/<key>.json, holding the exact text. */
    CHECK_OK(botsession_store_write(s, "-1001234567890", "{\"pizzaCount\": 3}"));
    CHECK(is_file("90/-1001234567890.json"));
    CHECK_STR(file_text("90/-1001234567890.json"), "{\"pizzaCount\": 3}");
    CHECK_OK(botsession_store_write(s, "5", "1"));
    CHECK(is_file("5/5.json"));
    CHECK_OK(botsession_store_write(s, "user.42", "2"));
    CHECK(is_file("42/user.42.json"));
    CHECK_OK(botsession_store_write(s, "a.b", "3"));
    CHECK(is_file(".b/a.b.json"));

    /* A file grammY's adapter wrote (tab-indented) is read as its text. */
    put_file("77/1077.json", "{\n\t\"pizzaCount\": 9\n}");
    CHECK_OK(botsession_store_read(s, "1077", &json));
    CHECK_TAKE_STR(json, "{\n\t\"pizzaCount\": 9\n}");

    /* Keys that are not plain are encoded: nothing is created outside the directory, and no
     * file name has a slash, a dot-dot or more than 255 bytes. */
    const char *hostile[] = {"../../escape", "/etc/passwd", "a/../../b", "..", ".", "x..", "sub/dir/key",
                             "new\nline", "ключ", "%2F", ""};
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        CHECK_OK(botsession_store_write(s, hostile[i], "{\"hostile\":true}"));
        CHECK_OK(botsession_store_read(s, hostile[i], &json));
        CHECK_TAKE_STR(json, "{\"hostile\":true}");
    }
    DIR *top = opendir(test_dir);
    struct dirent *entry;
    int outside = 0;
    while ((entry = readdir(top)))
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") && strcmp(entry->d_name, "sessions")) outside++;
    closedir(top);
    CHECK(outside == 0);
    CHECK(count_names(dir, "passwd") == 1);     /* only the encoded file */

    /* A long key that is not plain is split into folders (1,024 bytes in segments of at most
     * 200: six levels below its first folder); every name stays within 255 bytes. */
    int deepest = 0;
    size_t longest = 0;
    measure_tree(dir, 0, &deepest, &longest);
    CHECK(deepest < 6);
    char long_key[1025];
    memset(long_key, '~', 1024);
    long_key[1024] = 0;
    CHECK_OK(botsession_store_write(s, long_key, "\"long\""));
    CHECK_OK(botsession_store_read(s, long_key, &json));
    CHECK_TAKE_STR(json, "\"long\"");
    measure_tree(dir, 0, &deepest, &longest);
    CHECK(deepest >= 6);
    CHECK(longest <= 255);

    /* Atomic replace leaves no temporary files. */
    for (int i = 0; i < 20; i++) CHECK_OK(botsession_store_write(s, "5", "{\"n\": 1}"));
    CHECK(count_names(dir, ".tmp") == 0);

    /* Iteration finds the keys and ignores files that are not keys where they are. */
    put_file("README.txt", "not a session");
    put_file("zz/notes.json", "{}");       /* "notes" would live in tes/, not zz/ */
    put_file("42/.hidden.json", "{}");
    botsession_iter *it;
    char *key;
    int keys = 0, strays = 0;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        if (!strcmp(key, "notes") || !strcmp(key, ".hidden") || !strcmp(key, "README.txt")) strays++;
        keys++;
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(strays == 0);
    CHECK(keys == 5 + 11 + 1);  /* the plain keys, the hostile ones, the long one */

    /* A file that cannot be read is STORAGE, not "absent"; a file that is not JSON is INVALID_JSON. */
    char blocker[1024];
    snprintf(blocker, sizeof blocker, "%s/ab", dir);
    mkdir(blocker, 0755);
    snprintf(blocker, sizeof blocker, "%s/ab/xab.json", dir);
    mkdir(blocker, 0755);   /* a folder where the key's file should be */
    CHECK_RC(botsession_store_read(s, "xab", &json), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("xab.json");
    put_file("cd/bcd.json", "{\"broken\": ");
    CHECK_RC(botsession_store_read(s, "bcd", &json), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("bcd.json");

    /* A second handle sees the same data; it persists after close. */
    botsession_store *again;
    CHECK_OK(botsession_store_open(uri, NULL, &again));
    botsession_store_close(s);
    CHECK_OK(botsession_store_read(again, "-1001234567890", &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\": 3}");
    /* Delete removes the file; deleting again is fine. */
    CHECK_OK(botsession_store_delete(again, "-1001234567890"));
    CHECK(!is_file("90/-1001234567890.json"));
    CHECK_OK(botsession_store_delete(again, "-1001234567890"));
    botsession_store_close(again);

    /* A path that is a file, not a directory; unknown options. */
    char not_dir[700];
    snprintf(not_dir, sizeof not_dir, "file:%s/sessions/README.txt", test_dir);
    CHECK_RC(botsession_store_open(not_dir, NULL, &s), BOTSESSION_STORAGE);
    CHECK_RC(botsession_store_open(uri, "{\"fsync\": false}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_open("file:", NULL, &s), BOTSESSION_INVALID_OPTION);

    report_passed("test_file_store");
    return 0;
}

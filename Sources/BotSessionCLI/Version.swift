/// The command's version, the library's (scripts/check-version.sh checks it against VERSION).
let botSessionVersion = "0.1.0"

# Finds the Debian packages Fl0wer builds against and exposes each as an imported target
# (fl0wer::nng, fl0wer::msgpack, fl0wer::rocksdb, fl0wer::sodium, fl0wer::pcap, fl0wer::cmocka).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

find_package(nng CONFIG REQUIRED)
add_library(fl0wer::nng INTERFACE IMPORTED)
target_link_libraries(fl0wer::nng INTERFACE nng::nng)

pkg_check_modules(MSGPACK REQUIRED IMPORTED_TARGET msgpack)
add_library(fl0wer::msgpack ALIAS PkgConfig::MSGPACK)

pkg_check_modules(ROCKSDB REQUIRED IMPORTED_TARGET rocksdb)
add_library(fl0wer::rocksdb ALIAS PkgConfig::ROCKSDB)

pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
add_library(fl0wer::sodium ALIAS PkgConfig::SODIUM)
# OpenSSL's libcrypto only for SHA-256 of batch payloads (frame version 3): it uses the CPU's SHA
# instructions (x86 SHA-NI, ARMv8 crypto extensions), which libsodium does not.
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
add_library(fl0wer::crypto ALIAS PkgConfig::LIBCRYPTO)

pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
add_library(fl0wer::pcap ALIAS PkgConfig::PCAP)

pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
add_library(fl0wer::cmocka ALIAS PkgConfig::CMOCKA)

# Test helpers. One executable per unit (libuv/nng style), each registered with ctest with a
# timeout. Tests find the project's bundled data through FL0WER_SOURCE_DIR and the shared captures
# through FL0WER_SHARED_FLOWS (../shared/testdata/flows beside the checkout, when present).
get_filename_component(FL0WER_SHARED_FLOWS_DEFAULT
    "${CMAKE_SOURCE_DIR}/../shared/testdata/flows" ABSOLUTE)
set(FL0WER_SHARED_FLOWS "${FL0WER_SHARED_FLOWS_DEFAULT}" CACHE PATH
    "folder of the shared flow captures (INDEX.md); absent on a user's clone")

# fl0wer_add_unit_test(NAME SOURCES a.c b.c LIBS lib... [TIMEOUT s] [LABELS l...])
function(fl0wer_add_unit_test name)
    cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 60)
    endif()
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${T_LIBS} fl0wer::cmocka)
    target_compile_definitions(${name} PRIVATE
        FL0WER_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
        FL0WER_BINARY_DIR="${CMAKE_BINARY_DIR}"
        FL0WER_SHARED_FLOWS="${FL0WER_SHARED_FLOWS}")
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}"
        ENVIRONMENT "FL0WER_SOURCE_DIR=${CMAKE_SOURCE_DIR};FL0WER_SHARED_FLOWS=${FL0WER_SHARED_FLOWS};FL0WER_BINARY_DIR=${CMAKE_BINARY_DIR};LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0")
endfunction()

# fl0wer_add_script_test(NAME COMMAND cmd... [TIMEOUT s] [LABELS l...])
# A test driven by a script (bash/python) that starts real processes. The script gets the build
# folder, the source folder and the shared captures folder through the environment.
function(fl0wer_add_script_test name)
    cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    add_test(NAME ${name} COMMAND ${T_COMMAND})
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "script;${T_LABELS}"
        ENVIRONMENT "FL0WER_SOURCE_DIR=${CMAKE_SOURCE_DIR};FL0WER_SHARED_FLOWS=${FL0WER_SHARED_FLOWS};FL0WER_BINARY_DIR=${CMAKE_BINARY_DIR};LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0")
endfunction()

# fl0wer_add_fuzzer(NAME SOURCES ... LIBS ...): a libFuzzer harness, built only with FL0WER_FUZZ.
function(fl0wer_add_fuzzer name)
    cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
    if(NOT FL0WER_FUZZ)
        return()
    endif()
    add_executable(${name} ${T_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE ${T_LIBS})
endfunction()

# fl0wer_add_subdirs(): adds every direct subfolder of the current folder that has a
# CMakeLists.txt, in name order, so each component owns its own build file.
function(fl0wer_add_subdirs)
    file(GLOB children RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
    list(SORT children)
    foreach(child ${children})
        if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
           AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
            add_subdirectory(${child})
        endif()
    endforeach()
endfunction()

# SPDX-License-Identifier: MIT
#
# cmake -DDOXYGEN=... -DDOXYFILE=... -DLOG=... -P apidoc.cmake
# Runs Doxygen and fails when it wrote any warning, printing them.
if(NOT DOXYGEN OR DOXYGEN MATCHES "NOTFOUND$")
    message(FATAL_ERROR "doxygen not found; scripts/setup.sh installs it (apt-get install doxygen)")
endif()
file(REMOVE "${LOG}")
execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "doxygen failed (${status})")
endif()
file(READ "${LOG}" warnings)
string(STRIP "${warnings}" warnings)
if(warnings)
    string(REGEX MATCHALL "\n" lines "${warnings}\n")
    list(LENGTH lines count)
    message(FATAL_ERROR "the API reference has ${count} Doxygen warning(s); document what they name:\n${warnings}")
endif()
get_filename_component(dir "${LOG}" DIRECTORY)
message(STATUS "API reference without warnings: ${dir}/html/index.html")

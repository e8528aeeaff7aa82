# ctest `generated_fresh`: run cw-schemac into a scratch directory and
# compare with the committed generated/ files byte for byte.
file(REMOVE_RECURSE ${FRESH})
file(MAKE_DIRECTORY ${FRESH})
execute_process(COMMAND ${SCHEMAC} ${SCHEMA} ${FRESH} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cw-schemac failed on ${SCHEMA} (exit ${rc})")
endif()
get_filename_component(base ${SCHEMA} NAME_WE)
foreach(ext h c)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
                  ${FRESH}/${base}.${ext} ${COMMITTED}/${base}.${ext}
                  RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    message(FATAL_ERROR "generated/${base}.${ext} is stale: it differs from a fresh "
                        "cw-schemac run (${FRESH}/${base}.${ext}). "
                        "Run `cmake --build ${BUILD_DIR} --target regen` and commit generated/.")
  endif()
endforeach()
message(STATUS "generated/ is fresh")

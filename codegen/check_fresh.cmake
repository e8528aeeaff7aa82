# ctest `generated_fresh`: run cw-schemac on every SCHEMA_DIR/*.schema into
# a scratch directory and compare with the committed generated/ files byte
# for byte; a generated/ file no schema makes is stale too.
file(REMOVE_RECURSE ${FRESH})
file(MAKE_DIRECTORY ${FRESH})
file(GLOB schemas ${SCHEMA_DIR}/*.schema)
if(NOT schemas)
  message(FATAL_ERROR "no schema in ${SCHEMA_DIR}")
endif()
set(expected)
foreach(schema ${schemas})
  execute_process(COMMAND ${SCHEMAC} ${schema} ${FRESH} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cw-schemac failed on ${schema} (exit ${rc})")
  endif()
  get_filename_component(base ${schema} NAME_WE)
  foreach(ext h c)
    list(APPEND expected ${base}.${ext})
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
                    ${FRESH}/${base}.${ext} ${COMMITTED}/${base}.${ext}
                    RESULT_VARIABLE differ)
    if(NOT differ EQUAL 0)
      message(FATAL_ERROR "generated/${base}.${ext} is stale: it differs from a fresh "
                          "cw-schemac run of ${schema} (${FRESH}/${base}.${ext}). "
                          "Run `cmake --build ${BUILD_DIR} --target regen` and commit generated/.")
    endif()
  endforeach()
endforeach()
file(GLOB committed RELATIVE ${COMMITTED} ${COMMITTED}/*)
foreach(f ${committed})
  list(FIND expected ${f} at)
  if(at EQUAL -1)
    message(FATAL_ERROR "generated/${f} comes from no schema/*.schema: remove it "
                        "(or restore its schema) and commit generated/.")
  endif()
endforeach()
list(LENGTH schemas n)
message(STATUS "generated/ is fresh (${n} schemas)")

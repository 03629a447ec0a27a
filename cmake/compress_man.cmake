# Compresses a man page the way Debian wants it (gzip -9n: no name or time
# stamp, so the same page compresses to the same bytes).
#   cmake -DINPUT=deploy/errand.1 -DOUTPUT=errand.1.gz -P compress_man.cmake
execute_process(COMMAND gzip -9n -c ${INPUT} OUTPUT_FILE ${OUTPUT} RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  file(REMOVE ${OUTPUT})
  message(FATAL_ERROR "gzip ${INPUT} failed (${code})")
endif()

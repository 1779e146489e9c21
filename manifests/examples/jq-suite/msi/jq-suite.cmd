@echo off
echo jq-suite example (mode %JQSUITE_MODE%)

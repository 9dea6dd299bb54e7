#!/bin/sh
echo {{facs.instance}}

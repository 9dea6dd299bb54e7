#!/bin/sh
curl -fsS http://127.0.0.1:9001/healthz >/dev/null

#!/bin/sh
PGPASSWORD={{module.db.password}} psql

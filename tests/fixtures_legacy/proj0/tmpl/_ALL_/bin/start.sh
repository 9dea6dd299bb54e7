#!/bin/sh
exec {{ project.project }} --workers {{ workers }} {%- if debug %} --debug{% endif %}

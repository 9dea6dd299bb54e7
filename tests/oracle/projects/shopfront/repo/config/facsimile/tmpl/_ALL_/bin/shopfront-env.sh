#!/bin/sh
{% include '_banner.txt' %}
# Source this file from a shell to talk to the {{ facs.release_environment }} database.
export SHOP_ENV={{ facs.release_environment | replace('.', '-') }}
export SHOP_VERSION={{ facs.version }}
export SHOP_FEATURES='{{ env.app.features | tojson }}'
export SHOP_DB='{{ env.db | tojson }}'
export PGUSER={{ module.shop.username }}
export PGPASSWORD={{ module.shop.password }}
{% if env.maintenance -%}
export SHOP_MAINTENANCE=1
{% endif %}
{% for target, hosts in env.deploy.nodes.items() %}
export SHOP_{{ target | upper }}_HOSTS="{{ hosts | join(' ') }}"
{% endfor %}
export SHOP_ALL_HOSTS="
{%- for target, hosts in env.deploy.nodes.items() -%}
{{ hosts | join(' ') }}{% if not loop.last %} {% endif %}
{%- endfor -%}
"
echo "shopfront env loaded ({{ env.deploy.nodes | length }} targets)"

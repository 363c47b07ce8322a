#!/usr/bin/env bash
# One-off Elasticsearch security setup for compose.yaml: the kibana_system password, the
# Earshot roles, and a writer API key limited to the Earshot indices (written to
# /secrets/earshot_writer.key for the Airflow containers). Idempotent.
set -euo pipefail
es() { curl -sS --fail-with-body --cacert /certs/ca/ca.crt -u "elastic:${ELASTIC_PASSWORD}" \
  -H 'Content-Type: application/json' "https://elasticsearch:9200$1" "${@:2}"; }

es /_security/user/kibana_system/_password -X POST -d "{\"password\":\"${KIBANA_PASSWORD}\"}"

# Writer: what Earshot's pipeline and `earshot es setup` need, on its own indices only.
es /_security/role/earshot_writer -X PUT -d '{
  "cluster": ["monitor", "manage_ilm", "manage_index_templates"],
  "indices": [{"names": ["earshot-posts*"],
               "privileges": ["create_index", "manage", "write", "read", "view_index_metadata"]}]
}'
# Analysts: read the Earshot indices and use Discover, dashboards and Lens in Kibana.
es /_security/role/earshot_analyst -X PUT -d '{
  "indices": [{"names": ["earshot-posts*"], "privileges": ["read", "view_index_metadata"]}],
  "applications": [{"application": "kibana-.kibana",
                    "privileges": ["feature_discover.read", "feature_dashboard.read",
                                   "feature_visualize.read"],
                    "resources": ["*"]}]
}'

if [ ! -s /secrets/earshot_writer.key ]; then
  es /_security/api_key -X POST -d '{
    "name": "earshot-writer",
    "role_descriptors": {"earshot_writer": {
      "cluster": ["monitor", "manage_ilm", "manage_index_templates"],
      "indices": [{"names": ["earshot-posts*"],
                   "privileges": ["create_index", "manage", "write", "read", "view_index_metadata"]}]
    }}
  }' | sed -n 's/.*"encoded":"\([^"]*\)".*/\1/p' > /secrets/earshot_writer.key
fi
echo "security set up: roles earshot_writer, earshot_analyst; writer API key in /secrets"

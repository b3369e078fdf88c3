"""End-to-end tests of the mongo worker (vartrack-worker-mongo, libmongoc):
vartrack-watcher + its git and mongo workers against the Mongo-wire fake.

Real mongod is not available on this machine (no Debian package), so the
datasource is harness.MongoFake: CongoDB from @push.rocks/smartmongo 2.2.0
(tests/mongo-fake), in memory. It does not cover authentication (SCRAM
fails against it: only the "credentials never logged" side is tested), TLS,
change streams or replica sets; the worker's code for those is plain
libmongoc URI options, untested here. The fake needs ObjectId _ids (pymongo
adds them) and cannot store strings that are not valid UTF-8 (it answers
with a broken reply), so invalid UTF-8 is stored as BSON binary here.
Documents are written with Debian's pymongo 3.11 (/usr/bin/python3), which
refuses field names with dots in insert_one: file documents are written
with replace_one(upsert=True), as the orchestrator does.
"""
import base64

import conformance
from harness import (WatcherTest, rule_drift, rule_ok, rule_unknown, wait_until,
                     watcher_config)
from fixtures import APP_YAML, FLAT

EXTRA_YAML = """cache:
  ttl: 60
log_level: debug
"""

TENANT, DSNAME, ENV = "acme", "mongo", "production"


def vt_fields(tenant=TENANT, ds=DSNAME, env=ENV, file="config/app.yaml"):
    """The _vt_* fields the orchestrator sets (interop §3.1)."""
    return {"_vt_managed_by": "vartrack", "_vt_tenant": tenant, "_vt_datasource": ds,
            "_vt_env": env, "_vt_repo": "file:///repo", "_vt_branch": "main",
            "_vt_commit": "0123456789ab", "_vt_file": file}


def write_documents(coll, flat=FLAT, **vt):
    """Document strategy: one document per key."""
    coll.insert_many([dict(vt_fields(**vt), key=k, value=v) for k, v in flat.items()])


def write_file_document(coll, file, data, **vt):
    """File strategy: one document per file, `data` field names with dots."""
    f = vt_fields(file=file, **vt)
    flt = {k: f[k] for k in ("_vt_tenant", "_vt_datasource", "_vt_env", "_vt_file")}
    coll.replace_one(flt, dict(f, data=data), upsert=True)


def mongo_datasource(uri, extra=""):
    return """  - name: mongo
    type: mongo
    uri: %s
    database: vartrack
    server_selection_timeout: 2s
    connect_timeout: 2s
    command_timeout: 5s
%s""" % (uri, extra)


def mongo_config(test, mongo, rules, poll="1s", ds_extra="", uri=None):
    return watcher_config(test.tmp, mongo_datasource(uri or mongo.uri, ds_extra), rules, poll)


def doc_rule(name="app", extra="", collection="variables", env=ENV):
    return """  - name: %s
    platform: local
    datasource: mongo
    repo_url: {repo}
    branch: main
    file_name: config/app.yaml
    tenant_id: acme
    env: "%s"
    collection: %s
    mongo_strategy: document
%s""" % (name, env, collection, extra)


def keys_of(drift):
    return {k["key"]: k for k in drift["keys"]}


def bson_value(v):
    """A value for the fake: str, or BSON binary (subtype 0) for bytes that
    are not UTF-8 (the fake cannot store such strings)."""
    import bson
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return bson.Binary(v)
    return v


class MongoKind(conformance.Kind):
    """The conformance adapter: document strategy, one document per key in
    vartrack.variables with the _vt_* fields."""
    name = datasource = "mongo"
    big_value_bytes = 8 << 20      # a BSON document is at most 16 MB
    marker = None       # the worker reports no marker (drift lines say "absent")

    def start(self):
        self.m = self.test.mongo()
        self.coll = self.m.client().vartrack.variables

    def stop(self):
        self.m.stop()

    def restart(self):
        self.m.start()       # same port, empty (in memory)
        self.coll = self.m.client().vartrack.variables

    def write_baseline(self, flat):
        self.coll.delete_many({"key": {"$in": list(flat)}})
        write_documents(self.coll, {k: bson_value(v) for k, v in flat.items()})

    def set_value(self, key, value):
        value = bson_value(value)
        if isinstance(value, str):
            self.coll.update_one({"key": key}, {"$set": {"value": value}})
        else:
            # inserted whole: the fake's $set turns a Binary into a plain object
            self.coll.delete_one({"key": key})
            self.add_extra(key, value)

    def delete(self, key):
        self.coll.delete_one({"key": key})

    def add_extra(self, key, value):
        self.coll.insert_one(dict(vt_fields(), key=key, value=bson_value(value)))

    def datasource_yaml(self, extra=""):
        return mongo_datasource(self.m.uri, extra)

    def rule_yaml(self, name, repo, extra=""):
        return doc_rule(name, extra).format(repo=repo)

    def invalid_utf8_shown(self, raw):
        return ["$binary", base64.b64encode(raw).decode()]

    def down_reason(self):
        return "127.0.0.1:%d" % self.m.port


class Conformance(conformance.Suite, WatcherTest):
    kind = MongoKind


class DocumentLayout(WatcherTest):
    def setUp(self):
        super().setUp()
        self.m = self.mongo()
        self.coll = self.m.client().vartrack.variables
        self.g = self.repo({"config/app.yaml": APP_YAML})
        write_documents(self.coll)
        self.w = self.watcher(mongo_config(self, self.m, doc_rule().format(repo=self.g.path)))
        self.w.wait_log(rule_ok("app"), 20, what="first OK poll")

    def test_spec_example_int_value_is_drift_50_vs_5(self):
        # the spec, as written: db.variables.updateOne({key: "max_connections"},
        #                                              {$set: {value: 5}})
        mark = self.w.mark()
        self.coll.update_one({"key": "max_connections"}, {"$set": {"value": 5}})
        d = self.w.wait_log(rule_drift("app"), 5, start=mark, what="drift line")
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (1, 0, 0))
        self.assertEqual(d["datasource"], "mongo")
        self.assertEqual(d["target"], "variables")
        k = keys_of(d)["max_connections"]
        self.assertEqual((k["change"], k["expected"], k["actual"]), ("changed", "50", "5"))
        self.assertIsNone(self.w.proc.poll())

    def test_non_string_values_shown_as_json(self):
        mark = self.w.mark()
        self.coll.update_one({"key": "max_connections"}, {"$set": {"value": 5.5}})
        self.coll.update_one({"key": "log_level"}, {"$set": {"value": True}})
        self.coll.update_one({"key": "database.host"}, {"$set": {"value": None}})
        self.coll.update_one({"key": "features.0"}, {"$set": {"value": {"a": 1}}})
        self.coll.update_one({"key": "features.1"}, {"$unset": {"value": ""}})
        d = self.w.wait_log(lambda l: rule_drift("app")(l) and l["changed"] == 5, 5,
                            start=mark, what="five changed values")
        keys = keys_of(d)
        self.assertEqual(keys["max_connections"]["actual"], "5.5")
        self.assertEqual(keys["log_level"]["actual"], "true")
        self.assertEqual(keys["database.host"]["actual"], "null")
        self.assertEqual(keys["features.0"]["actual"], '{ "a" : 1 }')
        # a document without a value field: present, "null"
        self.assertEqual(keys["features.1"]["change"], "changed")
        self.assertEqual(keys["features.1"]["actual"], "null")

    def test_duplicate_key_documents_first_wins_no_crash(self):
        mark = self.w.mark()
        self.coll.insert_one(dict(vt_fields(), key="max_connections", value="999"))
        # either document may come first; no crash, no extra, one value
        wait_until(lambda: len(self.w.find(lambda l: l.get("rule") == "app", mark)) >= 3, 10)
        for l in self.w.find(rule_drift("app"), mark):
            self.assertEqual(l["extra"], 0)
        self.assertIsNone(self.w.proc.poll())

    def test_other_tenant_env_datasource_not_read(self):
        mark = self.w.mark()
        write_documents(self.coll, dict(FLAT, max_connections="99", staging_only="x"),
                        env="staging")
        write_documents(self.coll, dict(FLAT, max_connections="98", other_tenant="x"),
                        tenant="globex")
        write_documents(self.coll, dict(FLAT, max_connections="97", other_ds="x"),
                        ds="mongo-eu")
        self.m.client().vartrack.other.insert_one(dict(vt_fields(), key="elsewhere",
                                                       value="x"))
        wait_until(lambda: len(self.w.find(rule_ok("app"), mark)) >= 3, 10,
                   what="three OK polls")
        self.assertEqual(self.w.find(rule_drift("app"), mark), [])

    def test_client_reused_across_polls(self):
        mark = self.w.mark()
        wait_until(lambda: len(self.w.find(rule_ok("app"), mark)) >= 4, 10)
        made = self.w.find(lambda l: l.get("proc") == "worker/mongo" and
                           "client for" in l.get("msg", ""))
        self.assertEqual(len(made), 1, made)
        self.assertIn("127.0.0.1:%d" % self.m.port, made[0]["msg"])

class Credentials(WatcherTest):
    def test_uri_password_never_logged(self):
        m = self.mongo()
        g = self.repo({"config/app.yaml": APP_YAML})
        secret = "S3cretPw-qz"
        uri = "mongodb://vtuser:%s@127.0.0.1:%d/?authSource=admin" % (secret, m.port)
        w = self.watcher(mongo_config(self, m, doc_rule().format(repo=g.path),
                                      uri="{env: VTW_TEST_MONGO_URI}"),
                         env={"VTW_TEST_MONGO_URI": uri})
        # the fake cannot authenticate: the poll is unknown, with a reason
        hostport = "127.0.0.1:%d" % m.port
        u = w.wait_log(lambda l: rule_unknown("app")(l) and hostport in l["reason"], 30,
                       what="unknown poll (auth) naming the host")
        self.assertEqual(u["stage"], "read")
        # a second failed poll: reconnect and retry logs are in too
        after = w.mark()
        w.wait_log(rule_unknown("app"), 30, start=after, what="a second unknown poll")
        joined = "\n".join(w.raw)
        self.assertNotIn(secret, joined)
        self.assertNotIn("vtuser:", joined)


class FileLayout(WatcherTest):
    def test_file_strategy_dotted_fields_merged_in_file_order(self):
        m = self.mongo()
        coll = m.client().vartrack.configs
        g = self.repo({"config/app.yaml": APP_YAML, "config/extra.yaml": EXTRA_YAML})
        write_file_document(coll, "config/app.yaml", FLAT)
        write_file_document(coll, "config/extra.yaml",
                            {"cache.ttl": "60", "log_level": "debug"})
        # another env's document for the same files is never read
        write_file_document(coll, "config/extra.yaml", {"cache.ttl": "1"}, env="staging")
        rule = """  - name: files
    platform: local
    datasource: mongo
    repo_url: %s
    branch: main
    files: [config/app.yaml, config/extra.yaml]
    tenant_id: acme
    env: production
    mongo_strategy: file
""" % g.path
        w = self.watcher(mongo_config(self, m, rule))
        # collection: the datasource's default, "configs"; later file wins
        ok = w.wait_log(rule_ok("files"), 20, what="OK poll (file strategy)")
        self.assertEqual(ok["target"], "configs")
        mark = w.mark()
        data = dict(FLAT, **{"database.host": "db.other", "sneaky.key": "1"})
        del data["features.0"]
        write_file_document(coll, "config/app.yaml", data)
        write_file_document(coll, "config/extra.yaml",
                            {"cache.ttl": 120, "log_level": "debug"})
        d = w.wait_log(rule_drift("files"), 5, start=mark, what="drift (file strategy)")
        self.assertEqual((d["changed"], d["missing"], d["extra"]), (2, 1, 1))
        keys = keys_of(d)
        self.assertEqual(keys["database.host"]["actual"], "db.other")
        self.assertEqual(keys["cache.ttl"]["actual"], "120")
        self.assertEqual(keys["features.0"]["change"], "missing")
        self.assertEqual(keys["sneaky.key"]["change"], "extra")
        # a file document gone: its keys are missing
        mark = w.mark()
        coll.delete_one({"_vt_file": "config/extra.yaml", "_vt_env": "production"})
        d = w.wait_log(lambda l: rule_drift("files")(l) and l["missing"] == 2, 5,
                       start=mark)
        self.assertEqual(keys_of(d)["cache.ttl"]["change"], "missing")
        # app.yaml's log_level is there, extra.yaml's value expected
        self.assertEqual(keys_of(d)["log_level"]["actual"], "info")


class CollectionNaming(WatcherTest):
    def test_env_as_collection_and_destination_template(self):
        m = self.mongo()
        db = m.client().vartrack
        g = self.repo({"config/app.yaml": APP_YAML})
        # env_as_collection: {collection}_{safe env}, "." becomes "_"
        write_documents(db["cfg_v1_2"], env="v1.2")
        # destination_template: {tenant}, {env} (safe env)
        write_documents(db["acme_eu_west_vars"], env="eu/west")
        rules = (doc_rule("per-env", "    env_as_collection: true\n", collection="cfg",
                          env="v1.2") +
                 doc_rule("templated", "    destination_template: \"{{tenant}}_{{env}}_vars\"\n",
                          env="eu/west")).format(repo=g.path)
        w = self.watcher(mongo_config(self, m, rules))
        a = w.wait_log(rule_ok("per-env"), 20, what="OK per-env")
        b = w.wait_log(rule_ok("templated"), 20, what="OK templated")
        self.assertEqual(a["target"], "cfg_v1_2")
        self.assertEqual(b["target"], "acme_eu_west_vars")
        mark = w.mark()
        db["cfg_v1_2"].update_one({"key": "log_level"}, {"$set": {"value": "warn"}})
        d = w.wait_log(rule_drift("per-env"), 5, start=mark)
        self.assertEqual(keys_of(d)["log_level"]["actual"], "warn")

    def test_rule_database_wins_over_the_datasource_one(self):
        # rule_config "database" picks the orchestrator's database per rule
        m = self.mongo()
        g = self.repo({"config/app.yaml": APP_YAML})
        write_documents(m.client().otherdb["configs"], env="prod")
        rule = doc_rule("own-db", "    database: otherdb\n", collection="configs",
                        env="prod").format(repo=g.path)
        w = self.watcher(mongo_config(self, m, rule))
        w.wait_log(rule_ok("own-db"), 20, what="OK from the rule's database")
        mark = w.mark()
        m.client().otherdb["configs"].update_one({"key": "log_level"},
                                                 {"$set": {"value": "warn"}})
        d = w.wait_log(rule_drift("own-db"), 5, start=mark)
        self.assertEqual(keys_of(d)["log_level"]["actual"], "warn")

-- A store made by schema version 1 (rerank_playground/store/migrations/v0001_*), as `sqlite3 .dump` writes it.
-- Never regenerate it: it stands for the databases users already have. tests/integration/test_evaluation_store.py opens it with the current code.
BEGIN TRANSACTION;
CREATE TABLE judgments (
	collection TEXT NOT NULL,
	id_property TEXT NOT NULL,
	"query" TEXT NOT NULL,
	doc_id TEXT NOT NULL,
	grade SMALLINT NOT NULL,
	judge TEXT,
	source TEXT NOT NULL,
	judged_at DATETIME NOT NULL,
	PRIMARY KEY (collection, id_property, "query", doc_id),
	CONSTRAINT judgments_grade_0_3 CHECK (grade BETWEEN 0 AND 3),
	CONSTRAINT judgments_source CHECK (source IN ('person', 'imported'))
);
INSERT INTO "judgments" VALUES('DemoWiki','','animal behaviour','7b1d3c47-2f4e-5d3a-9d0e-0d5b6a1f2c31',3,'ana','person','2026-11-30 10:21:00.075255');
INSERT INTO "judgments" VALUES('DemoWiki','','animal behaviour','0c9e0a43-6c1c-5e1f-8f7a-1e3c2b9d4a10',0,NULL,'person','2026-11-30 10:21:00.081713');
INSERT INTO "judgments" VALUES('DemoWiki','article_id','writing history','wiki100:Writing',2,NULL,'imported','2026-11-30 10:21:00.083231');
CREATE TABLE query_sets (
	id INTEGER NOT NULL,
	name TEXT NOT NULL,
	collection TEXT NOT NULL,
	id_property TEXT,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (name)
);
INSERT INTO "query_sets" VALUES(1,'golden set','DemoWiki',NULL,'2026-11-30 10:21:00.067871');
CREATE TABLE schema_version (
	version INTEGER NOT NULL,
	description TEXT NOT NULL,
	applied_at DATETIME NOT NULL,
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'judgments and query sets','2026-11-30 10:21:00.063346');
CREATE TABLE set_queries (
	set_id INTEGER NOT NULL,
	query_id TEXT NOT NULL,
	position INTEGER NOT NULL,
	text TEXT NOT NULL,
	"query" TEXT NOT NULL,
	PRIMARY KEY (set_id, query_id),
	CONSTRAINT set_queries_unique_text UNIQUE (set_id, "query"),
	FOREIGN KEY(set_id) REFERENCES query_sets (id) ON DELETE CASCADE
);
INSERT INTO "set_queries" VALUES(1,'q1',0,'Animal behaviour','animal behaviour');
INSERT INTO "set_queries" VALUES(1,'q2',1,'Writing history','writing history');
COMMIT;

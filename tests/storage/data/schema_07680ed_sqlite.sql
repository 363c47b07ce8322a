-- Release 07680ed: the DDL Store.create_schema() ran on a new SQLite database, in order,
-- as captured from `git show 07680ed:core/store.py` (SQLAlchemy create_all, then FTS5).
-- Statements end with ";" at the end of a line.

CREATE TABLE posts (
	id VARCHAR(80) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	url TEXT NOT NULL, 
	author_id VARCHAR(64) NOT NULL, 
	author_handle VARCHAR(128) NOT NULL, 
	author_name TEXT NOT NULL, 
	author_followers INTEGER NOT NULL, 
	author_verified BOOLEAN NOT NULL, 
	title TEXT, 
	text TEXT NOT NULL, 
	language VARCHAR(16), 
	created_at DATETIME NOT NULL, 
	conversation_id VARCHAR(80), 
	in_reply_to_id VARCHAR(80), 
	metrics JSON NOT NULL, 
	first_seen_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_posts_created_at ON posts (created_at);

CREATE INDEX ix_posts_author_id ON posts (author_id);

CREATE INDEX ix_posts_conversation_id ON posts (conversation_id);

CREATE TABLE enrichments (
	post_id VARCHAR(80) NOT NULL, 
	sentiment VARCHAR(16) NOT NULL, 
	intent VARCHAR(32) NOT NULL, 
	move_private BOOLEAN NOT NULL, 
	spam BOOLEAN NOT NULL, 
	language VARCHAR(16) NOT NULL, 
	data JSON NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (post_id)
);

CREATE INDEX ix_enrichments_intent ON enrichments (intent);

CREATE TABLE queue_items (
	post_id VARCHAR(80) NOT NULL, 
	queue VARCHAR(32) NOT NULL, 
	priority INTEGER NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	rule VARCHAR(128) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	decided_at DATETIME NOT NULL, 
	sla_due DATETIME, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (post_id)
);

CREATE INDEX ix_queue_items_queue ON queue_items (queue);

CREATE INDEX ix_queue_items_status ON queue_items (status);

CREATE TABLE cursors (
	source VARCHAR(64) NOT NULL, 
	value JSON NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (source)
);

CREATE TABLE dead_letters (
	id INTEGER NOT NULL, 
	fingerprint VARCHAR(64) NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	location TEXT NOT NULL, 
	error TEXT NOT NULL, 
	payload BLOB NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (fingerprint)
);

CREATE TABLE batches (
	batch_id VARCHAR(64) NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	stage VARCHAR(16) NOT NULL, 
	pending_cursor JSON, 
	counts JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (batch_id)
);

CREATE INDEX ix_batches_run_id ON batches (run_id);

CREATE TABLE batch_posts (
	batch_id VARCHAR(64) NOT NULL, 
	post_id VARCHAR(80) NOT NULL, 
	position INTEGER NOT NULL, 
	post JSON NOT NULL, 
	enrichment JSON, 
	PRIMARY KEY (batch_id, post_id)
);

CREATE TABLE removals (
	id INTEGER NOT NULL, 
	post_id VARCHAR(80) NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	reason TEXT NOT NULL, 
	removed_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_removals_post_id ON removals (post_id);

CREATE TABLE feedback (
	post_id VARCHAR(80) NOT NULL, 
	task VARCHAR(16) NOT NULL, 
	label VARCHAR(32) NOT NULL, 
	text TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (post_id, task)
);

CREATE TABLE runs (
	run_id VARCHAR(64) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	summary JSON, 
	PRIMARY KEY (run_id)
);

CREATE VIRTUAL TABLE IF NOT EXISTS post_search USING fts5(post_id UNINDEXED, text, tokenize='unicode61 remove_diacritics 2');


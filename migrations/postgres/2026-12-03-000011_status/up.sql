-- The status page. Components (a group is a component with is_group, as in Statuspage),
-- incidents and scheduled maintenance in one table (kind), their timed updates with the
-- component changes each made, every component's status over time (the uptime bars),
-- forum topics that report an incident, who hears about status changes, and API tokens.
CREATE TABLE status_components (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    group_id BIGINT REFERENCES status_components(id),
    is_group BOOLEAN NOT NULL DEFAULT FALSE,
    position INTEGER NOT NULL DEFAULT 0,
    only_show_if_degraded BOOLEAN NOT NULL DEFAULT FALSE,
    start_date DATE,
    status TEXT NOT NULL DEFAULT 'operational' CHECK (status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE status_incidents (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'postmortem', 'scheduled', 'in_progress', 'verifying', 'completed')),
    impact TEXT NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical', 'maintenance')),
    -- Set by staff; otherwise the impact follows the affected components.
    impact_override TEXT,
    scheduled_for TIMESTAMP,
    scheduled_until TIMESTAMP,
    started_at TIMESTAMP NOT NULL,
    monitoring_at TIMESTAMP,
    resolved_at TIMESTAMP,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX status_incidents_open ON status_incidents(resolved_at, kind);
CREATE INDEX status_incidents_started ON status_incidents(started_at);

CREATE TABLE status_incident_components (
    incident_id BIGINT NOT NULL REFERENCES status_incidents(id),
    component_id BIGINT NOT NULL REFERENCES status_components(id),
    PRIMARY KEY (incident_id, component_id)
);

CREATE TABLE status_updates (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES status_incidents(id),
    status TEXT NOT NULL,
    raw TEXT NOT NULL,
    cooked TEXT NOT NULL,
    author_id BIGINT REFERENCES users(id),
    token_id BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX status_updates_incident ON status_updates(incident_id, created_at);

-- What one update changed: each component from what to what.
CREATE TABLE status_update_components (
    update_id BIGINT NOT NULL REFERENCES status_updates(id),
    component_id BIGINT NOT NULL REFERENCES status_components(id),
    old_status TEXT NOT NULL,
    new_status TEXT NOT NULL,
    PRIMARY KEY (update_id, component_id)
);

-- From started_at on, the component had this status (until its next row).
CREATE TABLE status_component_history (
    id BIGSERIAL PRIMARY KEY,
    component_id BIGINT NOT NULL REFERENCES status_components(id),
    status TEXT NOT NULL,
    incident_id BIGINT REFERENCES status_incidents(id),
    started_at TIMESTAMP NOT NULL
);
CREATE INDEX status_component_history_at ON status_component_history(component_id, started_at);

CREATE TABLE status_incident_topics (
    incident_id BIGINT NOT NULL REFERENCES status_incidents(id),
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    linked_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, topic_id)
);
CREATE INDEX status_incident_topics_topic ON status_incident_topics(topic_id);

-- Members who hear about every incident and maintenance.
CREATE TABLE status_subscribers (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);

-- Members who follow one incident (from the new-topic form, instead of reporting it).
CREATE TABLE status_incident_followers (
    incident_id BIGINT NOT NULL REFERENCES status_incidents(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);

-- Tokens for scripts (monitoring, deploys): only a hash is kept; scopes separated by spaces.
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

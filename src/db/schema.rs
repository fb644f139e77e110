//! Table definitions shared by both backends. Keep in step with `migrations/{sqlite,postgres}`.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        email -> Text,
        email_key -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamp,
        unread_notifications -> Integer,
        changelog_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        user_agent -> Text,
        ip -> Nullable<Text>,
        last_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        kind -> Text,
        subject_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        payload -> Text,
    }
}

diesel::table! {
    categories (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        description -> Text,
        color -> Text,
        position -> Integer,
        staff_only -> Bool,
        created_at -> Timestamp,
        kind -> Text,
    }
}

diesel::table! {
    topics (id) {
        id -> BigInt,
        category_id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        slug -> Text,
        created_at -> Timestamp,
        bumped_at -> Timestamp,
        last_poster_id -> BigInt,
        reply_count -> Integer,
        like_count -> Integer,
        highest_post_number -> Integer,
        solved_post_id -> Nullable<BigInt>,
        has_staff_reply -> Bool,
        locked -> Bool,
        pinned -> Bool,
        unlisted -> Bool,
        deleted_at -> Nullable<Timestamp>,
        views -> BigInt,
        search_clicks -> BigInt,
        deflection_opens -> BigInt,
    }
}

diesel::table! {
    topic_duplicates (topic_id) {
        topic_id -> BigInt,
        of_topic_id -> BigInt,
        marked_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        topic_id -> BigInt,
        user_id -> BigInt,
        post_number -> Integer,
        raw -> Text,
        cooked -> Text,
        created_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        version -> Integer,
        like_count -> Integer,
        deleted_at -> Nullable<Timestamp>,
        hidden_reason -> Nullable<Text>,
    }
}

diesel::table! {
    post_revisions (id) {
        id -> BigInt,
        post_id -> BigInt,
        version -> Integer,
        editor_id -> BigInt,
        raw_before -> Text,
        title_before -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    topic_tags (topic_id, tag_id) {
        topic_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    likes (post_id, user_id) {
        post_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    topic_watches (user_id, topic_id) {
        user_id -> BigInt,
        topic_id -> BigInt,
        level -> Text,
    }
}

diesel::table! {
    category_watches (user_id, category_id) {
        user_id -> BigInt,
        category_id -> BigInt,
        level -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        event_id -> BigInt,
        kind -> Text,
        actor_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        subject_kind -> Text,
        subject_id -> BigInt,
    }
}

diesel::table! {
    follower_cursors (name) {
        name -> Text,
        last_event_id -> BigInt,
    }
}

diesel::table! {
    related_topics (topic_id, rank) {
        topic_id -> BigInt,
        rank -> Integer,
        related_id -> BigInt,
        related_kind -> Text,
    }
}

diesel::table! {
    related_computed (topic_id) {
        topic_id -> BigInt,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    scheduled_jobs (id) {
        id -> BigInt,
        kind -> Text,
        subject_key -> Text,
        due_at -> Timestamp,
        payload -> Text,
        attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        done_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    kb_sections (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        description -> Text,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    kb_articles (id) {
        id -> BigInt,
        section_id -> BigInt,
        slug -> Text,
        title -> Text,
        summary -> Text,
        raw -> Text,
        cooked -> Text,
        tags -> Text,
        applies_to -> Text,
        status -> Text,
        author_id -> BigInt,
        version -> Integer,
        views -> BigInt,
        helpful_yes -> Integer,
        helpful_no -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    kb_revisions (id) {
        id -> BigInt,
        article_id -> BigInt,
        version -> Integer,
        editor_id -> Nullable<BigInt>,
        note -> Text,
        title -> Text,
        slug -> Text,
        summary -> Text,
        raw -> Text,
        section_id -> BigInt,
        tags -> Text,
        applies_to -> Text,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    kb_article_topics (topic_id) {
        topic_id -> BigInt,
        article_id -> BigInt,
        linked_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    kb_votes (article_id, voter) {
        article_id -> BigInt,
        voter -> Text,
        helpful -> Bool,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    kb_slug_redirects (old_slug) {
        old_slug -> Text,
        article_id -> BigInt,
    }
}

diesel::table! {
    status_components (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        group_id -> Nullable<BigInt>,
        is_group -> Bool,
        position -> Integer,
        only_show_if_degraded -> Bool,
        start_date -> Nullable<Date>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    status_incidents (id) {
        id -> BigInt,
        kind -> Text,
        name -> Text,
        status -> Text,
        impact -> Text,
        impact_override -> Nullable<Text>,
        scheduled_for -> Nullable<Timestamp>,
        scheduled_until -> Nullable<Timestamp>,
        started_at -> Timestamp,
        monitoring_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    status_incident_components (incident_id, component_id) {
        incident_id -> BigInt,
        component_id -> BigInt,
    }
}

diesel::table! {
    status_updates (id) {
        id -> BigInt,
        incident_id -> BigInt,
        status -> Text,
        raw -> Text,
        cooked -> Text,
        author_id -> Nullable<BigInt>,
        token_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_update_components (update_id, component_id) {
        update_id -> BigInt,
        component_id -> BigInt,
        old_status -> Text,
        new_status -> Text,
    }
}

diesel::table! {
    status_component_history (id) {
        id -> BigInt,
        component_id -> BigInt,
        status -> Text,
        incident_id -> Nullable<BigInt>,
        started_at -> Timestamp,
    }
}

diesel::table! {
    status_incident_topics (incident_id, topic_id) {
        incident_id -> BigInt,
        topic_id -> BigInt,
        linked_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_subscribers (user_id) {
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_incident_followers (incident_id, user_id) {
        incident_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ideas (topic_id) {
        topic_id -> BigInt,
        status -> Text,
        vote_count -> Integer,
        merged_into -> Nullable<BigInt>,
        status_changed_at -> Timestamp,
        shipped_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idea_votes (topic_id, user_id) {
        topic_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    changelog_posts (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        raw -> Text,
        cooked -> Text,
        label_new -> Bool,
        label_improved -> Bool,
        label_fixed -> Bool,
        status -> Text,
        author_id -> BigInt,
        published_on -> Date,
        published_at -> Nullable<Timestamp>,
        loop_closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    changelog_links (post_id, subject_kind, subject_id) {
        post_id -> BigInt,
        subject_kind -> Text,
        subject_id -> BigInt,
    }
}

diesel::table! {
    changelog_slug_redirects (old_slug) {
        old_slug -> Text,
        post_id -> BigInt,
    }
}

diesel::joinable!(ideas -> topics (topic_id));
diesel::joinable!(changelog_links -> changelog_posts (post_id));
diesel::joinable!(kb_articles -> kb_sections (section_id));
diesel::joinable!(kb_article_topics -> kb_articles (article_id));
diesel::joinable!(kb_article_topics -> topics (topic_id));
diesel::joinable!(kb_votes -> kb_articles (article_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(topics -> categories (category_id));
diesel::joinable!(posts -> topics (topic_id));
diesel::joinable!(posts -> users (user_id));
diesel::joinable!(topic_tags -> tags (tag_id));
diesel::joinable!(topic_tags -> topics (topic_id));
diesel::joinable!(post_revisions -> posts (post_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    settings,
    events,
    categories,
    topics,
    posts,
    post_revisions,
    tags,
    topic_tags,
    likes,
    topic_watches,
    category_watches,
    notifications,
    follower_cursors,
    related_topics,
    related_computed,
    scheduled_jobs,
    kb_sections,
    kb_articles,
    kb_revisions,
    kb_article_topics,
    kb_votes,
    kb_slug_redirects,
    topic_duplicates,
    status_components,
    status_incidents,
    status_incident_components,
    status_updates,
    status_update_components,
    status_component_history,
    status_incident_topics,
    status_subscribers,
    status_incident_followers,
    api_tokens,
    ideas,
    idea_votes,
    changelog_posts,
    changelog_links,
    changelog_slug_redirects,
);

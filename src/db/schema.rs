// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        kind -> Text,
        target -> Text,
        district_code -> Text,
        person_id -> Nullable<Text>,
        unit_id -> Nullable<Text>,
        valid_from -> Timestamp,
        valid_to -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    buildings (district_code, code) {
        district_code -> Text,
        code -> Text,
        cell_code -> Text,
        name -> Text,
        households -> Integer,
        lon -> Double,
        lat -> Double,
    }
}

diesel::table! {
    case_transitions (id) {
        id -> Text,
        case_id -> Text,
        district_code -> Text,
        seq -> Integer,
        action -> Text,
        from_status -> Text,
        to_status -> Text,
        actor_id -> Text,
        actor_name -> Text,
        actor_role -> Text,
        at -> Timestamp,
        note -> Text,
        details -> Text,
        evidence -> Text,
    }
}

diesel::table! {
    case_work (case_id) {
        case_id -> Text,
        district_code -> Text,
        street_code -> Nullable<Text>,
        handler_unit_id -> Nullable<Text>,
        departments -> Text,
        copied -> Text,
        time_class -> Text,
        dispatched_at -> Timestamp,
        respond_due_at -> Timestamp,
        complete_due_at -> Timestamp,
        extension_days -> Integer,
        accepted_at -> Nullable<Timestamp>,
        accepted_by -> Nullable<Text>,
        accepted_by_name -> Nullable<Text>,
        replied_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        return_count -> Integer,
        buck_passing -> Bool,
        evidence_missing -> Bool,
        rung -> Integer,
        next_rung_at -> Nullable<Timestamp>,
        tickets -> Integer,
        cb_reached -> Integer,
        cb_resolved -> Integer,
        cb_partly -> Integer,
        cb_satisfied -> Integer,
        cb_basic -> Integer,
        cb_both_ok -> Integer,
        cb_both_missing -> Integer,
        cycle -> Integer,
        cycle_started_at -> Timestamp,
        extension_pending_days -> Nullable<Integer>,
    }
}

diesel::table! {
    change_counter (id) {
        id -> Integer,
        seq -> BigInt,
    }
}

diesel::table! {
    changes (entity_kind, entity_id, place_code) {
        entity_kind -> Text,
        entity_id -> Text,
        place_code -> Text,
        seq -> BigInt,
        gone -> Bool,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        next_seq -> BigInt,
        last_result_seq -> BigInt,
    }
}

diesel::table! {
    escalations (case_id, cycle, rung) {
        case_id -> Text,
        cycle -> Integer,
        rung -> Integer,
        name -> Text,
        district_code -> Text,
        due_at -> Timestamp,
        fired_at -> Timestamp,
        notified -> Text,
    }
}

diesel::table! {
    whistle_calls (case_id, whistle_seq, unit_id) {
        case_id -> Text,
        whistle_seq -> Integer,
        unit_id -> Text,
        unit_name -> Text,
        district_code -> Text,
        summoned_at -> Timestamp,
        due_at -> Timestamp,
        reported_at -> Nullable<Timestamp>,
        reported_by -> Nullable<Text>,
        reported_by_name -> Nullable<Text>,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        district_code -> Text,
        place_code -> Nullable<Text>,
        lon -> Nullable<Double>,
        lat -> Nullable<Double>,
        building_code -> Nullable<Text>,
        topic_code -> Text,
        status -> Text,
        source -> Text,
        priority -> Integer,
        group_request -> Bool,
        repeat_request -> Bool,
        ticket_count -> Integer,
        caller_count -> Integer,
        report_count -> Integer,
        opened_at -> Timestamp,
        last_item_at -> Timestamp,
        chain -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    geodata_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        account -> Text,
        address -> Text,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    login_known_addresses (account, address) {
        account -> Text,
        address -> Text,
        last_success_at -> Timestamp,
    }
}

diesel::table! {
    merge_decisions (id) {
        id -> Text,
        case_id -> Text,
        item_kind -> Text,
        item_id -> Text,
        outcome -> Text,
        candidate_case_id -> Nullable<Text>,
        distance_m -> Nullable<Double>,
        age_hours -> Nullable<Double>,
        score -> Nullable<Double>,
        reason -> Text,
        actor -> Text,
        decided_at -> Timestamp,
        undone_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    people (id) {
        id -> Text,
        name -> Text,
        phone -> Text,
        unit_id -> Text,
        role -> Text,
        district_code -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    photo_uploads (id) {
        id -> Text,
        sha256 -> Text,
        size -> BigInt,
        mime -> Text,
        received -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
        device_id -> Nullable<Text>,
    }
}

diesel::table! {
    photo_holders (sha256, user_id) {
        sha256 -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    photo_uses (sha256, kind, item_id) {
        sha256 -> Text,
        kind -> Text,
        item_id -> Text,
        attached_by -> Text,
        vouched -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    photos (sha256) {
        sha256 -> Text,
        size -> BigInt,
        mime -> Text,
        width -> Integer,
        height -> Integer,
        exif_lon -> Nullable<Double>,
        exif_lat -> Nullable<Double>,
        exif_taken_at -> Nullable<Timestamp>,
        uploaded_by -> Text,
        created_at -> Timestamp,
        exif_unreadable -> Bool,
    }
}

diesel::table! {
    count_cursor (id) {
        id -> Integer,
        seq -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    count_marks (case_id) {
        case_id -> Text,
        class -> Text,
        contribution -> Text,
    }
}

diesel::table! {
    place_counts (level, day, place_code, topic_code, source, status) {
        level -> Text,
        day -> Date,
        place_code -> Text,
        topic_code -> Text,
        source -> Text,
        status -> Text,
        tickets -> Integer,
        cases -> Integer,
    }
}

diesel::table! {
    pii_reads (id) {
        id -> Text,
        read_at -> Timestamp,
        user_id -> Text,
        username -> Text,
        role -> Text,
        ticket_id -> Text,
        case_id -> Text,
        district_code -> Text,
        reason -> Text,
    }
}

diesel::table! {
    places (district_code, code) {
        district_code -> Text,
        code -> Text,
        level -> Text,
        name -> Text,
        parent_code -> Nullable<Text>,
        area_km2 -> Double,
        min_lon -> Double,
        min_lat -> Double,
        max_lon -> Double,
        max_lat -> Double,
        geometry -> Text,
    }
}

diesel::table! {
    policy (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    proactive_tasks (case_id) {
        case_id -> Text,
        scan_id -> Text,
        cluster -> Integer,
        topic_code -> Text,
        scanned_topic -> Text,
        level -> Text,
        units -> Text,
        place_code -> Text,
        strongest_z -> Nullable<Double>,
        trend -> Nullable<Text>,
        window_from -> Date,
        window_to -> Date,
        window_tickets -> BigInt,
        baseline_tickets -> Nullable<Double>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reports (id) {
        id -> Text,
        content_sha256 -> Text,
        case_id -> Text,
        district_code -> Text,
        reporter_id -> Text,
        reported_at -> Timestamp,
        topic_code -> Text,
        body -> Text,
        lon -> Double,
        lat -> Double,
        place_code -> Text,
        building_code -> Nullable<Text>,
        photos -> Text,
        fixed_on_the_spot -> Bool,
        outside_scope -> Bool,
        chain -> Text,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    scans (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        progress -> Integer,
        params -> Text,
        result -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        coverage -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        schedule_key -> Nullable<Text>,
    }
}

diesel::table! {
    section_places (section_id, place_code) {
        section_id -> Text,
        place_code -> Text,
    }
}

diesel::table! {
    sections (id) {
        id -> Text,
        name -> Text,
        district_code -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sync_ops (op_id) {
        op_id -> Text,
        device_id -> Text,
        device_seq -> BigInt,
        kind -> Text,
        entity_id -> Text,
        base_version -> Nullable<Integer>,
        payload -> Text,
        content_sha256 -> Text,
        status -> Text,
        code -> Nullable<Text>,
        message -> Nullable<Text>,
        result -> Nullable<Text>,
        place_code -> Nullable<Text>,
        received_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        result_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    ticket_callbacks (ticket_id, round) {
        ticket_id -> Text,
        round -> Integer,
        case_id -> Text,
        district_code -> Text,
        at -> Timestamp,
        actor_id -> Text,
        contacted -> Bool,
        resolved -> Nullable<Text>,
        satisfaction -> Nullable<Text>,
        note -> Text,
    }
}

diesel::table! {
    ticket_media (ticket_id) {
        ticket_id -> Text,
        url -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        ticket_no -> Text,
        content_sha256 -> Text,
        case_id -> Text,
        district_code -> Text,
        received_at -> Timestamp,
        channel -> Text,
        request_type -> Text,
        topic_code -> Text,
        body -> Text,
        caller_name -> Text,
        caller_phone -> Text,
        caller_confidential -> Bool,
        address_text -> Text,
        lon -> Nullable<Double>,
        lat -> Nullable<Double>,
        location_precision -> Text,
        place_code -> Nullable<Text>,
        building_code -> Nullable<Text>,
        chain -> Text,
        repeat_of -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    topics (code) {
        code -> Text,
        parent_code -> Nullable<Text>,
        name_zh -> Text,
        name_en -> Text,
        time_class -> Text,
        grid_class -> Text,
        department -> Text,
        merge_radius_m -> Integer,
        merge_window_hours -> Integer,
        merge_same_building -> Bool,
        active -> Bool,
        season -> Nullable<Text>,
    }
}

diesel::table! {
    units (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        place_code -> Nullable<Text>,
        district_code -> Text,
        topics -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_scopes (user_id, scope_kind, value) {
        user_id -> Text,
        scope_kind -> Text,
        value -> Text,
    }
}

diesel::table! {
    user_units (user_id, unit_id) {
        user_id -> Text,
        unit_id -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        password_changed_at -> Timestamp,
    }
}

diesel::joinable!(assignments -> people (person_id));
diesel::joinable!(assignments -> units (unit_id));
diesel::joinable!(case_transitions -> cases (case_id));
diesel::joinable!(case_work -> cases (case_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(escalations -> cases (case_id));
diesel::joinable!(merge_decisions -> cases (case_id));
diesel::joinable!(people -> units (unit_id));
diesel::joinable!(proactive_tasks -> cases (case_id));
diesel::joinable!(proactive_tasks -> scans (scan_id));
diesel::joinable!(reports -> cases (case_id));
diesel::joinable!(section_places -> sections (section_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sync_ops -> devices (device_id));
diesel::joinable!(ticket_callbacks -> cases (case_id));
diesel::joinable!(ticket_callbacks -> tickets (ticket_id));
diesel::joinable!(ticket_media -> tickets (ticket_id));
diesel::joinable!(tickets -> cases (case_id));
diesel::joinable!(user_scopes -> users (user_id));
diesel::joinable!(user_units -> units (unit_id));
diesel::joinable!(user_units -> users (user_id));
diesel::joinable!(whistle_calls -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    assignments,
    buildings,
    case_transitions,
    case_work,
    cases,
    change_counter,
    changes,
    count_cursor,
    count_marks,
    devices,
    escalations,
    geodata_meta,
    login_attempts,
    login_known_addresses,
    merge_decisions,
    people,
    photo_holders,
    photo_uploads,
    photo_uses,
    photos,
    pii_reads,
    place_counts,
    places,
    policy,
    proactive_tasks,
    reports,
    scans,
    section_places,
    sections,
    sessions,
    sync_ops,
    ticket_callbacks,
    ticket_media,
    tickets,
    topics,
    units,
    user_scopes,
    user_units,
    users,
    whistle_calls,
);

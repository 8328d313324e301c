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
    geodata_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        throttle_key -> Text,
        failed_at -> Timestamp,
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
diesel::joinable!(people -> units (unit_id));
diesel::joinable!(section_places -> sections (section_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_scopes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    assignments,
    buildings,
    geodata_meta,
    login_failures,
    people,
    places,
    section_places,
    sections,
    sessions,
    units,
    user_scopes,
    users,
);

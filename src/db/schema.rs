// @generated automatically by Diesel CLI.

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

diesel::allow_tables_to_appear_in_same_query!(buildings, geodata_meta, places,);

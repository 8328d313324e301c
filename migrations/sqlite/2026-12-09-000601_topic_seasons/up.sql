-- The time of year a topic's problems come (`MM-DD..MM-DD`, both days included, spanning the new year when it ends
-- before it starts; NULL: all year), read by the seasonal forewarning (冬病夏治,
-- src/service/hotspots/forewarning.rs). A taxonomy stored before this column gets the built-in seasons on the
-- built-in topics (src/domain/topics.csv: same code and name; a code an imported taxonomy gave another meaning keeps
-- no season); a taxonomy loaded later carries its own.
ALTER TABLE topics ADD COLUMN season TEXT;
UPDATE topics SET season = '11-15..03-15' WHERE code = '0701' AND name_zh = '供暖不热';
UPDATE topics SET season = '06-01..09-15' WHERE code = '0304' AND name_zh = '道路积水';
UPDATE topics SET season = '05-01..09-30' WHERE code = '0203' AND name_zh = '露天烧烤';
UPDATE topics SET season = '06-01..09-15' WHERE code = '0401' AND name_zh = '树木倒伏与修剪';

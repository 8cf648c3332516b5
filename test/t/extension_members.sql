-- One line per object of the vecann extension with the properties an upgrade
-- script must reproduce (used by 003_update_and_privileges.pl to compare an
-- updated extension with a fresh install).
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'vecann'),
members AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
  WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT pg_describe_object(classid, objid, objsubid) || ': ' || coalesce(CASE classid
  WHEN 'pg_proc'::regclass THEN (
    SELECT format('kind=%s returns=%s strict=%s volatile=%s parallel=%s src=%s lang=%s acl=%s', p.prokind,
                  p.prorettype::regtype, p.proisstrict, p.provolatile, p.proparallel, p.prosrc,
                  (SELECT lanname FROM pg_language WHERE oid = p.prolang), p.proacl)
           || coalesce((SELECT format(' agg: trans=%s final=%s combine=%s stype=%s init=%s', a.aggtransfn, a.aggfinalfn,
                                      a.aggcombinefn, a.aggtranstype::regtype, a.agginitval)
                        FROM pg_aggregate a WHERE a.aggfnoid = p.oid), '')
    FROM pg_proc p WHERE p.oid = objid)
  WHEN 'pg_operator'::regclass THEN (
    SELECT format('code=%s commutator=%s negator=%s restrict=%s join=%s', o.oprcode, o.oprcom::regoperator,
                  o.oprnegate::regoperator, o.oprrest, o.oprjoin)
    FROM pg_operator o WHERE o.oid = objid)
  WHEN 'pg_type'::regclass THEN (
    SELECT format('in=%s out=%s recv=%s send=%s typmod_in=%s storage=%s len=%s align=%s', t.typinput, t.typoutput,
                  t.typreceive, t.typsend, t.typmodin, t.typstorage, t.typlen, t.typalign)
    FROM pg_type t WHERE t.oid = objid)
  WHEN 'pg_cast'::regclass THEN (
    SELECT format('context=%s method=%s function=%s', c.castcontext, c.castmethod, c.castfunc::regprocedure)
    FROM pg_cast c WHERE c.oid = objid)
  WHEN 'pg_opclass'::regclass THEN (
    SELECT format('default=%s family=%s', c.opcdefault, pg_describe_object('pg_opfamily'::regclass, c.opcfamily, 0))
    FROM pg_opclass c WHERE c.oid = objid)
  WHEN 'pg_opfamily'::regclass THEN (
    SELECT 'operators=' || coalesce(string_agg(format('%s:%s:%s:%s', o.amopstrategy, o.amopopr::regoperator, o.amoppurpose,
                                                  o.amopsortfamily), ' ' ORDER BY o.amopstrategy), '')
           || ' procs=' || coalesce((SELECT string_agg(format('%s:%s', p.amprocnum, p.amproc::regprocedure), ' ' ORDER BY p.amprocnum)
                                     FROM pg_amproc p WHERE p.amprocfamily = objid), '')
    FROM pg_amop o WHERE o.amopfamily = objid)
  WHEN 'pg_am'::regclass THEN (
    SELECT format('handler=%s type=%s comment=%s', a.amhandler, a.amtype, obj_description(a.oid, 'pg_am'))
    FROM pg_am a WHERE a.oid = objid)
  END, '?')
FROM members ORDER BY 1;

// Operator tasks are registered here, one file per area.
import "./registry";
import "./service";
import "./mitigation";
import "./token";
import "./agent";
import "./import";
import "./dots";
import "./dashboard";

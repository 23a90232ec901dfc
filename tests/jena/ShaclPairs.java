// Validate data sets against SHACL shapes with Apache Jena's SHACL engine, in one JVM.
//
// Usage: java -cp JENA ShaclPairs.java SHAPES.ttl... -- NAME=DATA.ttl[,DATA.ttl...]...
// Prints one tab-separated line per validation result: the data set's NAME, the focus node, the
// source shape and the severity (N-Triples terms); then "NAME\tconforms\ttrue|false" per data set.
// Run by tests/test_shapes_jena.py, which compares the results with pySHACL's.

import java.util.ArrayList;
import java.util.List;
import org.apache.jena.graph.Graph;
import org.apache.jena.graph.Node;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.riot.out.NodeFmtLib;
import org.apache.jena.shacl.ShaclValidator;
import org.apache.jena.shacl.Shapes;
import org.apache.jena.shacl.ValidationReport;
import org.apache.jena.shacl.validation.ReportEntry;
import org.apache.jena.sparql.graph.GraphFactory;

public class ShaclPairs {
    private static Graph load(List<String> files) {
        Graph graph = GraphFactory.createDefaultGraph();
        for (String file : files) {
            RDFDataMgr.read(graph, file);
        }
        return graph;
    }

    private static String term(Node node) {
        return node == null ? "" : NodeFmtLib.strNT(node);
    }

    public static void main(String[] args) {
        List<String> shapeFiles = new ArrayList<>();
        int i = 0;
        for (; i < args.length && !args[i].equals("--"); i++) {
            shapeFiles.add(args[i]);
        }
        Shapes shapes = Shapes.parse(load(shapeFiles));
        for (i++; i < args.length; i++) {
            String[] nameAndFiles = args[i].split("=", 2);
            Graph data = load(List.of(nameAndFiles[1].split(",")));
            ValidationReport report = ShaclValidator.get().validate(shapes, data);
            for (ReportEntry entry : report.getEntries()) {
                System.out.println(nameAndFiles[0] + "\t" + term(entry.focusNode()) + "\t" + term(entry.source())
                        + "\t" + entry.severity().level().getURI());
            }
            System.out.println(nameAndFiles[0] + "\tconforms\t" + report.conforms());
        }
    }
}
